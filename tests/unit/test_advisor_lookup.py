"""The LookupEvents side of the advisor without AWS: the run's budget and pace, and a LookupEvents event read into a
record (its CloudTrailEvent, and the resource names that are ARNs)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from key_lifecycle.gateways.trail import MAX_RESULTS, LookupBudget, TrailGateway
from tests.support.cloudtrail import cloudtrail_records


def test_the_budget_paces_each_request_but_the_first_and_runs_out() -> None:
    sleeps: list[float] = []
    budget = LookupBudget(3, sleep=sleeps.append)
    assert [budget.take() for _ in range(4)] == [True, True, True, False]
    assert sleeps == [0.5, 0.5]
    assert (budget.used, budget.remaining) == (3, 0)


class _Client:
    """LookupEvents pages as AWS serves them: newest first, at most MaxResults, NextToken while more remain."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        self.events = events
        self.requests: list[dict[str, Any]] = []

    def lookup_events(self, **params: Any) -> dict[str, Any]:
        self.requests.append(params)
        offset = int(params.get("NextToken", "0"))
        page = self.events[offset : offset + params["MaxResults"]]
        answer: dict[str, Any] = {"Events": page}
        if offset + len(page) < len(self.events):
            answer["NextToken"] = str(offset + len(page))
        return answer


def _event(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "EventTime": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
        "Resources": [{"ResourceType": "AWS::S3::Bucket", "ResourceName": "arn:aws:s3:::named-by-lookup"}],
        "CloudTrailEvent": json.dumps(record),
    }


def test_every_page_is_read_within_the_budget() -> None:
    record = cloudtrail_records("on_premises")[0]
    client = _Client([_event(record)] * 120)
    budget = LookupBudget(10, sleep=lambda _: None)
    start, end = datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC)
    got = TrailGateway(client).key_events("AKIAEXAMPLEONPREMISE", start, end, budget)
    assert got.complete and got.requests == 3 and len(got.records) == 120
    first = client.requests[0]
    assert first["LookupAttributes"] == [{"AttributeKey": "AccessKeyId", "AttributeValue": "AKIAEXAMPLEONPREMISE"}]
    assert (first["StartTime"], first["EndTime"], first["MaxResults"]) == (start, end, MAX_RESULTS)
    assert got.records[0].source_ip == "203.0.113.40"
    assert got.records[0].resources == ("arn:aws:s3:::named-by-lookup",)


def test_a_run_out_budget_returns_what_was_read_as_incomplete() -> None:
    client = _Client([_event(cloudtrail_records("on_premises")[0])] * 120)
    got = TrailGateway(client).key_events(
        "AKIAEXAMPLEONPREMISE",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
        LookupBudget(2, sleep=lambda _: None),
    )
    assert not got.complete and got.requests == 2 and len(got.records) == 100
