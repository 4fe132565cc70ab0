"""CloudTrail's LookupEvents, which moto does not have (it answers nothing), served from the management events the
local account records (local_account.trail): AWS's 90 days of event history, newest first, pages of at most 50
events (NextToken), the StartTime/EndTime filters, one lookup attribute, and the quota of 2 requests a second per
account and region (ThrottlingException beyond it), on the virtual clock."""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.exceptions import JsonRESTError
from moto.core.utils import utcnow

from local_account.emulator.fidelity import active

HISTORY = timedelta(days=90)
MAX_RESULTS = 50
REQUESTS_PER_SECOND = 2
# The lookup attributes LookupEvents accepts (CloudTrail API Reference, LookupAttribute), and where each is found.
_ATTRIBUTES = {
    "EventId": lambda r: [r.get("eventID")],
    "EventName": lambda r: [r.get("eventName")],
    "ReadOnly": lambda r: [str(r.get("readOnly", False)).lower()],
    "Username": lambda r: [(r.get("userIdentity") or {}).get("userName")],
    "ResourceType": lambda r: [x.get("type") for x in r.get("resources") or []],
    "ResourceName": lambda r: [x.get("ARN") for x in r.get("resources") or []],
    "EventSource": lambda r: [r.get("eventSource")],
    "AccessKeyId": lambda r: [(r.get("userIdentity") or {}).get("accessKeyId")],
}

_lock = threading.Lock()
_events: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
_requests: dict[tuple[str, str], deque[datetime]] = defaultdict(deque)
# Every LookupEvents request by (account, region): served and throttled, for tests and the demo to count.
counts: dict[tuple[str, str], dict[str, int]] = defaultdict(lambda: {"served": 0, "throttled": 0})


class _Error(JsonRESTError):
    code = 400

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(error_type, message)


def record(account_id: str, region: str, event: dict[str, Any]) -> None:
    """Keep one CloudTrail record (an EventBridge event's `detail`) in the region's event history."""
    with _lock:
        _events[(account_id, region)].append(dict(event))


def reset() -> None:
    with _lock:
        _events.clear()
        _requests.clear()
        counts.clear()


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if isinstance(value, int | float):
            return datetime.fromtimestamp(float(value), UTC)
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError):
        raise _Error("InvalidTimeRangeException", f"{name} is not a valid time") from None


def _event_time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(event["eventTime"]).replace("Z", "+00:00")).astimezone(UTC)


def _throttle(key: tuple[str, str], now: datetime) -> None:
    """At most 2 requests in any second (a request a second ago has left the window)."""
    with _lock:
        window = _requests[key]
        while window and window[0] <= now - timedelta(seconds=1):
            window.popleft()
        if len(window) >= REQUESTS_PER_SECOND:
            counts[key]["throttled"] += 1
            raise _Error("ThrottlingException", "Rate exceeded")
        window.append(now)
        counts[key]["served"] += 1


def _token(offset: int, query: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "q": query}).encode()).decode()


def _offset(token: str, query: str) -> int:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
        if decoded["q"] != query:
            raise ValueError("another query's token")
        return int(decoded["o"])
    except (ValueError, KeyError, TypeError):
        # AWS: "A token that is not valid, or a token that was previously used in a request with different
        # parameters" (InvalidNextTokenException).
        raise _Error("InvalidNextTokenException", "Invalid NextToken") from None


def lookup_events(self: CloudTrailResponse) -> str:
    account, region = self.current_account, self.region
    now = utcnow().replace(tzinfo=UTC)
    attributes = self._get_param("LookupAttributes") or []
    if len(attributes) > 1:
        raise _Error("InvalidLookupAttributesException", "You can specify only one lookup attribute")
    if attributes and attributes[0].get("AttributeKey") not in _ATTRIBUTES:
        raise _Error("InvalidLookupAttributesException", "Invalid attribute key")
    max_results = self._get_param("MaxResults")
    if max_results is not None and not 1 <= int(max_results) <= MAX_RESULTS:
        raise _Error("InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}")
    start = _time(self._get_param("StartTime"), "StartTime")
    end = _time(self._get_param("EndTime"), "EndTime")
    if start is not None and end is not None and start > end:
        raise _Error("InvalidTimeRangeException", "StartTime must be before EndTime")
    _throttle((account, region), now)

    query = json.dumps([attributes, str(start), str(end)], sort_keys=True, default=str)
    token = self._get_param("NextToken")
    offset = _offset(token, query) if token else 0
    with _lock:
        history = list(_events[(account, region)])
    oldest = now - HISTORY
    matched = []
    for event in history:
        when = _event_time(event)
        if when < oldest or when > now or (start and when < start) or (end and when > end):
            continue
        if attributes:
            wanted = attributes[0].get("AttributeValue")
            if wanted not in _ATTRIBUTES[attributes[0]["AttributeKey"]](event):
                continue
        matched.append((when, event))
    matched.sort(key=lambda item: item[0], reverse=True)  # newest first, as LookupEvents returns them
    size = int(max_results or MAX_RESULTS)
    page = matched[offset : offset + size]
    body: dict[str, Any] = {"Events": [_lookup_event(when, event) for when, event in page]}
    if offset + size < len(matched):
        body["NextToken"] = _token(offset + size, query)
    return json.dumps(body)


def _lookup_event(when: datetime, event: dict[str, Any]) -> dict[str, Any]:
    identity = event.get("userIdentity") or {}
    return {
        "EventId": event.get("eventID"),
        "EventName": event.get("eventName"),
        "ReadOnly": str(event.get("readOnly", False)).lower(),
        "AccessKeyId": identity.get("accessKeyId"),
        "EventTime": when.timestamp(),
        "EventSource": event.get("eventSource"),
        "Username": identity.get("userName"),
        "Resources": [
            {"ResourceType": r.get("type"), "ResourceName": r.get("ARN")} for r in event.get("resources") or []
        ],
        "CloudTrailEvent": json.dumps(event),
    }


_installed = False


def install() -> None:
    """LookupEvents served from the recorded history (only while a local account judges: otherwise moto's own
    answer, which has none)."""
    global _installed
    if _installed:
        return

    def patched(self: CloudTrailResponse) -> str:
        if not active():
            return json.dumps({"Events": []})
        return lookup_events(self)

    CloudTrailResponse.lookup_events = patched  # type: ignore[attr-defined]
    _installed = True
