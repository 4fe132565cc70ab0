"""Per-user locks in DynamoDB: a conditional PutItem with an expiry takes one, a conditional PutItem releases it.

A released lock is kept (until DynamoDB's TTL removes it) with the time it was released, so a run that takes it
afterwards can tell that another run changed the user after this run read its snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call
from key_lifecycle.models.constants import LOCK_KEY_ATTRIBUTE, LOCK_TTL_ATTRIBUTE

# Longer than any Lambda invocation (15 minutes at most): a lock whose holder was killed frees itself.
HOLD_SECONDS = 16 * 60
# How long a released lock's record is kept: far longer than any run's snapshot can be old.
KEEP_RELEASED_SECONDS = 24 * 60 * 60
_CONFLICT = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Grant:
    key: str
    owner: str
    previous_release: float | None  # epoch seconds the previous holder released it, if it did


def _epoch(now: datetime) -> int:
    return int(now.timestamp())


def _millis(now: datetime) -> str:
    return f"{now.timestamp():.3f}"


class LockGateway:
    def __init__(self, client: Any, table_name: str, *, key_prefix: str = "") -> None:
        self._client = client
        self.table_name = table_name
        # Organization mode: one table for every account, keys `<account id>/<user name>` (single account: none).
        self.key_prefix = key_prefix

    def acquire(self, key: str, owner: str, *, now: datetime | None = None) -> Grant | None:
        """The lock for `key`, or None while another run holds it (and its hold has not expired)."""
        key = self.key_prefix + key
        at = _epoch(now or datetime.now(UTC))
        try:
            response = call(
                self._client,
                "PutItem",
                TableName=self.table_name,
                Item={
                    LOCK_KEY_ATTRIBUTE: {"S": key},
                    "owner": {"S": owner},
                    "acquired_at": {"N": str(at)},
                    "held_until": {"N": str(at + HOLD_SECONDS)},
                    LOCK_TTL_ATTRIBUTE: {"N": str(at + HOLD_SECONDS + KEEP_RELEASED_SECONDS)},
                },
                ConditionExpression="attribute_not_exists(#key) OR held_until < :now",
                ExpressionAttributeNames={"#key": LOCK_KEY_ATTRIBUTE},
                ExpressionAttributeValues={":now": {"N": str(at)}},
                ReturnValues="ALL_OLD",
            )
        except AwsError as exc:
            if exc.code == _CONFLICT:
                return None
            raise
        old = response.get("Attributes") or {}
        released = old.get("released_at", {}).get("N")
        return Grant(key=key, owner=owner, previous_release=float(released) if released is not None else None)

    def release(self, grant: Grant, *, now: datetime | None = None) -> bool:
        """Give the lock back; False if it was no longer ours (our hold expired and another run took it)."""
        when = now or datetime.now(UTC)
        at = _epoch(when)
        try:
            call(
                self._client,
                "PutItem",
                TableName=self.table_name,
                Item={
                    LOCK_KEY_ATTRIBUTE: {"S": grant.key},
                    "owner": {"S": ""},
                    "released_at": {"N": _millis(when)},
                    "held_until": {"N": "0"},
                    LOCK_TTL_ATTRIBUTE: {"N": str(at + KEEP_RELEASED_SECONDS)},
                },
                ConditionExpression="#owner = :me",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={":me": {"S": grant.owner}},
            )
        except AwsError as exc:
            if exc.code == _CONFLICT:
                return False
            raise
        return True
