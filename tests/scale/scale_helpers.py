"""Scale tests' helpers: the AWS calls the functions make, recorded; the credential report; invoking a handler."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from tests.support.lambda_context import make_lambda_context


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


def generate_report() -> None:
    """What the previous run (or the hourly reconcile) leaves behind: a credential report under 4 hours old."""
    iam = boto3.client("iam")
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass


def invoke(function: str, event: dict[str, Any]) -> dict[str, Any]:
    import importlib

    handler = importlib.import_module(f"key_lifecycle.handlers.{function}")
    result: dict[str, Any] = handler.lambda_handler(
        event, make_lambda_context(function_name="scale-test", request_id="scale-test")
    )
    return result
