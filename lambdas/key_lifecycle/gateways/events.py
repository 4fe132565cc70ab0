"""EventBridge: the lifecycle's events on an event bus (the default one), ten entries a call. Never a secret."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from key_lifecycle.gateways.errors import call
from key_lifecycle.models.constants import EVENT_SOURCE

BATCH = 10  # PutEvents accepts at most 10 entries a call


class EventPublisher:
    def __init__(self, client: Any) -> None:
        self._client = client

    def publish(self, bus_name: str, events: Iterable[tuple[str, dict[str, Any]]]) -> int:
        """Put each (detail-type, detail) on the bus; returns how many entries EventBridge refused."""
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, default=str, sort_keys=True),
                "EventBusName": bus_name,
            }
            for detail_type, detail in events
        ]
        failed = 0
        for start in range(0, len(entries), BATCH):
            response = call(self._client, "PutEvents", Entries=entries[start : start + BATCH])
            failed += int(response.get("FailedEntryCount", 0))
        return failed
