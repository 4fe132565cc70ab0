"""What the stack's notification topic sent in the local account (moto records every SNS message in process): the
counts the demo prints, and the check that every action done and every forewarning reached its owner exactly once."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from moto.sns.models import sns_backends

from key_lifecycle.domain.notices import action_line
from key_lifecycle.models.report import Action, ActionStatus
from local_account.timeline import Invariant

FOREWARN_PREFIX = "forewarn:"
OPERATOR = "(operator)"  # how a message without an owner attribute is counted


def sent(account_id: str, region: str) -> list[dict[str, Any]]:
    """Every SNS message published in the account and region: subject, message and attributes (as strings)."""
    backend = sns_backends[account_id][region]
    return [
        {
            "subject": subject,
            "message": message,
            "attributes": {k: v.get("StringValue", v.get("Value")) for k, v in (attributes or {}).items()},
        }
        for topic in backend.topics.values()
        for _, message, subject, attributes, _ in topic.sent_notifications
    ]


def counts(messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Total, per owner (the operator for messages without one) and per kind."""
    messages = list(messages)
    owners = Counter(m["attributes"].get("owner") or OPERATOR for m in messages)
    kinds = Counter(m["attributes"].get("kind") or "(none)" for m in messages)
    return {"total": len(messages), "by_owner": dict(sorted(owners.items())), "by_kind": dict(sorted(kinds.items()))}


def check_delivery(
    invariant: Invariant, results: Iterable[Any], messages: list[dict[str, Any]], owners: Mapping[str, str]
) -> None:
    """Each action done or failed on an owned user is in exactly one message to its owner; each forewarning sent
    is in exactly one forewarning to its owner (`owners`: user name → owner tag)."""
    to: dict[str, list[str]] = {}
    for message in messages:
        to.setdefault(message["attributes"].get("owner") or OPERATOR, []).append(message["message"])
    for result in results:
        if not isinstance(result, dict) or result.get("dry_run"):
            continue
        for fields in result.get("actions") or []:
            if fields.get("status") == ActionStatus.PLANNED.value:
                continue
            owner = owners.get(fields["user_name"], OPERATOR)
            line = action_line(Action(**{k: fields.get(k) for k in Action.__dataclass_fields__}))
            found = sum(text.count(line + "\n") + text.endswith(line) for text in to.get(owner, []))
            invariant.check(found == 1, f"{owner} got {found} messages for: {line}")
        for warning in result.get("warnings") or []:
            if not str(warning.get("code", "")).startswith(FOREWARN_PREFIX):
                continue
            owner = owners.get(warning["user_name"], OPERATOR)
            why = f"Why: {warning['message']}."
            found = sum(text.count(why) for text in to.get(owner, []))
            invariant.check(found == 1, f"{owner} got {found} forewarnings for: {warning['message']}")
