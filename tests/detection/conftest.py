"""The detection tests reuse the handler tests' moto account and the infrastructure tests' synthesis helpers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent.parent
for folder in ("integration", "infrastructure"):
    if str(TESTS / folder) not in sys.path:
        sys.path.insert(0, str(TESTS / folder))


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_integration = _load("detection_integration_fixtures", TESTS / "integration" / "conftest.py")
# Re-exported fixtures: dummy credentials for every test here (autouse), the moto account, the Lambda context.
aws_environment = _integration.aws_environment
account = _integration.account
lambda_context = _integration.lambda_context
