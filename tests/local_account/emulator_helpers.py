"""Policy documents and error codes for the emulator tests."""

from __future__ import annotations

import json
from typing import Any

import pytest

ACCOUNT = "123456789012"
REGION = "us-east-1"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def error_code(exc_info: pytest.ExceptionInfo[Any]) -> str:
    return str(exc_info.value.response["Error"]["Code"])
