"""The prefer-roles advisor's memory between runs: the last recommendation of each key and the keys a run left
unread (its LookupEvents budget ran out), in one item of the lock table. Holds key ids and recommendation names
only, never a secret."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from key_lifecycle.gateways.errors import call
from key_lifecycle.models.constants import ADVISOR_STATE_KEY, LOCK_KEY_ATTRIBUTE, LOCK_TTL_ATTRIBUTE

# Forgotten (DynamoDB's TTL) when no run wrote it for this long: the advisor then starts afresh.
KEEP_SECONDS = 90 * 24 * 60 * 60


@dataclass(frozen=True)
class AdvisorState:
    recommendations: dict[str, str] = field(default_factory=dict)  # access key id → recommendation
    unread: tuple[str, ...] = ()  # access key ids to read first next run
    written_at: str | None = None


class AdvisorStateGateway:
    def __init__(self, client: Any, table_name: str, *, key_prefix: str = "") -> None:
        self._client = client
        self._table = table_name
        self._key = key_prefix + ADVISOR_STATE_KEY

    def read(self) -> AdvisorState:
        item = call(
            self._client,
            "GetItem",
            TableName=self._table,
            Key={LOCK_KEY_ATTRIBUTE: {"S": self._key}},
            ConsistentRead=True,
        ).get("Item")
        if not item:
            return AdvisorState()
        try:
            recommendations = json.loads(item.get("recommendations", {}).get("S", "{}"))
            unread = json.loads(item.get("unread", {}).get("S", "[]"))
        except ValueError:
            return AdvisorState()
        return AdvisorState(
            recommendations={str(k): str(v) for k, v in dict(recommendations).items()},
            unread=tuple(str(k) for k in unread),
            written_at=item.get("written_at", {}).get("S"),
        )

    def write(self, state: AdvisorState, now: datetime) -> None:
        call(
            self._client,
            "PutItem",
            TableName=self._table,
            Item={
                LOCK_KEY_ATTRIBUTE: {"S": self._key},
                "recommendations": {"S": json.dumps(state.recommendations, sort_keys=True, separators=(",", ":"))},
                "unread": {"S": json.dumps(list(state.unread), separators=(",", ":"))},
                "written_at": {"S": state.written_at or now.isoformat()},
                LOCK_TTL_ATTRIBUTE: {"N": str(int(now.timestamp()) + KEEP_SECONDS)},
            },
        )
