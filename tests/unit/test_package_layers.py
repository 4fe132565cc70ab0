"""The function package's layers only import downward: handlers → service → domain and gateways → models.
Domain and gateways never import each other; observability sits just above models."""

from __future__ import annotations

import ast
from pathlib import Path

import key_lifecycle

PACKAGE = Path(key_lifecycle.__file__).resolve().parent
# A layer may import the layers of a lower rank; two layers of one rank never import each other.
RANKS = {"models": 0, "observability": 1, "gateways": 2, "domain": 2, "service": 3, "handlers": 4}


def _layer(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "key_lifecycle" and len(parts) > 1, module
    return parts[1]


def _imports() -> list[tuple[str, str, int]]:
    """(importing module, imported module, line) for every import of the package, deferred ones included."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        module = ".".join(part for part in relative.parts if part != "__init__")
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            found += [(module, name, node.lineno) for name in names if name.startswith("key_lifecycle.")]
    return found


def test_every_module_belongs_to_a_known_layer() -> None:
    modules = {path.relative_to(PACKAGE).parts[0].removesuffix(".py") for path in PACKAGE.glob("*")}
    assert modules - {"__init__", "__pycache__", "py.typed"} == set(RANKS)


def _violations(imports: list[tuple[str, str, int]]) -> list[str]:
    return [
        f"{module}:{line} imports {imported}"
        for module, imported, line in imports
        if _layer(imported) != _layer(module) and RANKS[_layer(imported)] >= RANKS[_layer(module)]
    ]


def test_layers_only_import_downward() -> None:
    imports = _imports()
    assert len(imports) > 50  # the walk sees the package's imports
    assert _violations(imports) == []


def test_the_rule_names_upward_and_sideways_imports_and_allows_downward_ones() -> None:
    imports = [
        ("key_lifecycle.gateways.snapshot", "key_lifecycle.domain.rules", 3),  # sideways
        ("key_lifecycle.domain.confirm", "key_lifecycle.service.runner", 4),  # upward
        ("key_lifecycle.service.runner", "key_lifecycle.gateways.iam", 5),  # downward
        ("key_lifecycle.handlers.rotate_keys", "key_lifecycle.handlers.common", 6),  # within a layer
    ]
    assert _violations(imports) == [
        "key_lifecycle.gateways.snapshot:3 imports key_lifecycle.domain.rules",
        "key_lifecycle.domain.confirm:4 imports key_lifecycle.service.runner",
    ]
