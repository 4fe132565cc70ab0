"""SNS: one notification per run that did something or warned."""

from __future__ import annotations

from typing import Any

from key_lifecycle.gateways.errors import call

SUBJECT_MAX = 100  # SNS limit for email subjects


class Notifier:
    def __init__(self, client: Any) -> None:
        self._client = client

    def publish(
        self, topic_arn: str, *, subject: str, message: str, owner: str | None = None, kind: str | None = None
    ) -> str:
        params: dict[str, Any] = {
            "TopicArn": topic_arn,
            "Subject": subject[:SUBJECT_MAX],
            "Message": message,
        }
        attributes: dict[str, dict[str, str]] = {}
        if owner:
            # Lets a subscription filter on one owner's notifications (SNS filter policies read attributes).
            attributes["owner"] = {"DataType": "String", "StringValue": owner}
        if kind:
            # "run" | "forewarning" | "out_of_band" | "audit": lets a subscription pick the kinds it wants.
            attributes["kind"] = {"DataType": "String", "StringValue": kind}
        if attributes:
            params["MessageAttributes"] = attributes
        return str(call(self._client, "Publish", **params)["MessageId"])
