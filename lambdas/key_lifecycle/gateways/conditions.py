"""The open conditions already notified, kept in the lock table under their own key space: one item per source of
conditions (`open-conditions/<source>`; `open-conditions/<account id>/<source>` in organization mode) holding every
open condition with when it opened, compressed, and a version for optimistic concurrency (two runs of one source
never overwrite each other's record silently: the loser records nothing, so its news is told again, never lost)."""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call
from key_lifecycle.models.constants import CONDITIONS_KEY_PREFIX, LOCK_KEY_ATTRIBUTE

_CONFLICT = "ConditionalCheckFailedException"


@dataclass(frozen=True)
class Stored:
    records: dict[str, dict[str, Any]]  # condition id -> its record
    version: int  # 0: never written
    log: list[dict[str, Any]]  # what changed since the last digest (bounded)


class ConditionStore:
    def __init__(self, client: Any, table_name: str, *, key_prefix: str = "") -> None:
        self._client = client
        self.table_name = table_name
        self.key_prefix = key_prefix

    def key(self, source: str) -> str:
        return f"{CONDITIONS_KEY_PREFIX}{self.key_prefix}{source}"

    def load(self, source: str) -> Stored:
        response = call(
            self._client,
            "GetItem",
            TableName=self.table_name,
            Key={LOCK_KEY_ATTRIBUTE: {"S": self.key(source)}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return Stored({}, 0, [])
        body = json.loads(gzip.decompress(item["conditions"]["B"]))
        return Stored(dict(body.get("open", {})), int(item["version"]["N"]), list(body.get("log", [])))

    def save(self, source: str, stored: Stored, *, now: datetime | None = None) -> bool:
        """Write the new state over the version it was computed from; False if another run wrote in between."""
        # mtime=0: the same state is the same bytes (no time in the gzip header).
        body = gzip.compress(json.dumps({"open": stored.records, "log": stored.log}, sort_keys=True).encode(), mtime=0)
        at = (now or datetime.now(UTC)).isoformat()
        condition: dict[str, Any] = (
            {
                "ConditionExpression": "attribute_not_exists(#key)",
                "ExpressionAttributeNames": {"#key": LOCK_KEY_ATTRIBUTE},
            }
            if stored.version == 0
            else {
                "ConditionExpression": "#version = :seen",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": {":seen": {"N": str(stored.version)}},
            }
        )
        try:
            call(
                self._client,
                "PutItem",
                TableName=self.table_name,
                Item={
                    LOCK_KEY_ATTRIBUTE: {"S": self.key(source)},
                    "conditions": {"B": body},
                    "version": {"N": str(stored.version + 1)},
                    "updated_at": {"S": at},
                },
                **condition,
            )
        except AwsError as exc:
            if exc.code == _CONFLICT:
                return False
            raise
        return True
