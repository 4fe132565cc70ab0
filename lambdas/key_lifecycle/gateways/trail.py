"""CloudTrail's event history: a key's management events by LookupEvents (AttributeKey AccessKeyId), paced under
LookupEvents' quota of 2 requests a second per account and region, within a budget of requests per run."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from key_lifecycle.gateways.errors import call
from key_lifecycle.models.advice import TrailRecord

# LookupEvents: "The rate of lookup requests is limited to two per second, per account, per region", and at most
# 50 events a page (CloudTrail API Reference, LookupEvents).
REQUESTS_PER_SECOND = 2.0
MAX_RESULTS = 50


class LookupBudget:
    """How many LookupEvents requests a run may still make (the quota is the account's, shared with people and
    tools; a run that used it all would throttle them), and the pace: a full interval (half a second) before every
    request but the first, whatever the previous one took, so no second ever holds more than two of the run's
    requests, whichever clock (the caller's or CloudTrail's) measures it."""

    def __init__(
        self,
        requests: int,
        *,
        per_second: float = REQUESTS_PER_SECOND,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.remaining = requests
        self.used = 0
        self._interval = 1.0 / per_second
        self._sleep = sleep

    def take(self) -> bool:
        """One request's worth: False when the budget is spent; otherwise waits for the pace first."""
        if self.remaining <= 0:
            return False
        if self.used:
            self._sleep(self._interval)
        self.remaining -= 1
        self.used += 1
        return True


@dataclass(frozen=True)
class KeyEvents:
    records: tuple[TrailRecord, ...]
    complete: bool  # every page was read (False: the budget ran out; the next run reads this key first)
    requests: int


class TrailGateway:
    def __init__(self, client: Any) -> None:
        self._client = client

    def key_events(
        self,
        access_key_id: str,
        start: datetime,
        end: datetime,
        budget: LookupBudget,
    ) -> KeyEvents:
        """The key's management events in [start, end], newest first, as many pages as the budget allows. (A
        NextToken belongs to its query's time range, so a later run starts the key again rather than resume.)"""
        records: list[TrailRecord] = []
        token: str | None = None
        requests = 0
        while True:
            if not budget.take():
                return KeyEvents(tuple(records), complete=False, requests=requests)
            requests += 1
            params: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": "AccessKeyId", "AttributeValue": access_key_id}],
                "StartTime": start,
                "EndTime": end,
                "MaxResults": MAX_RESULTS,
            }
            if token:
                params["NextToken"] = token
            page = call(self._client, "LookupEvents", **params)
            for event in page.get("Events", []):
                records.append(_record(event))
            token = page.get("NextToken")
            if not token:
                return KeyEvents(tuple(records), complete=True, requests=requests)


def _record(event: dict[str, Any]) -> TrailRecord:
    """A LookupEvents event: its CloudTrailEvent (the record as JSON text) and its Resources' names."""
    try:
        record = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        record = {}
    if not isinstance(record, dict) or "eventTime" not in record:
        record = {
            "eventTime": event["EventTime"].isoformat(),
            "eventSource": event.get("EventSource", ""),
            "eventName": event.get("EventName", ""),
        }
    names = [str(r.get("ResourceName", "")) for r in event.get("Resources", []) if isinstance(r, dict)]
    return TrailRecord.from_cloudtrail(record, names)
