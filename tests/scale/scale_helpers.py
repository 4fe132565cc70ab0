"""Scale tests' helpers: moto in process with IAM's paging and credential report installed, AWS calls recorded."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws

from key_lifecycle.handlers.common import get_aws, reset_cold_start
from local_account.emulator import paging


@dataclass
class Calls:
    """AWS operations the functions called, in order, as `service:Operation`."""

    made: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def record(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        """before-parameter-build: the operation and its API parameters."""
        self.made.append((f"{model.service_model.endpoint_prefix}:{model.name}", dict(params)))

    def watch(self, events: Any) -> None:
        events.register("before-parameter-build", self.record)
        events.register("before-call", _stub)

    def counts(self) -> Counter[str]:
        return Counter(name for name, _ in self.made)

    def names(self) -> list[str]:
        return [name for name, _ in self.made]


class _Http:
    status_code = 200


def _stub(model: Any, **_: Any) -> Any:
    if model.name == "ListServiceSpecificCredentials":
        return _Http(), {"ServiceSpecificCredentials": []}  # not implemented by moto 5.2.5
    return None


class FakeContext:
    function_name = "scale-test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:scale-test"
    aws_request_id = "scale-test"

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


@pytest.fixture
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "VERIFY_TIMEOUT_SECONDS": "5",
    }.items():
        monkeypatch.setenv(name, value)
    paging.install()
    with mock_aws():
        reset_cold_start()
        calls = Calls()
        calls.watch(get_aws().session.events)
        yield calls
        reset_cold_start()


def generate_report() -> None:
    """What the previous run (or the hourly reconcile) leaves behind: a credential report under 4 hours old."""
    iam = boto3.client("iam")
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    import importlib

    handler = importlib.import_module(f"key_lifecycle.handlers.{function}")
    result: dict[str, Any] = handler.lambda_handler(event, FakeContext())
    return result
