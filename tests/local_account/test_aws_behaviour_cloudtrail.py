"""CloudTrail's LookupEvents as AWS documents it (CloudTrail API Reference, LookupEvents), served by the local
account from the events it records: moto has no LookupEvents at all."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.config import Config
from botocore.exceptions import ClientError

from local_account.emulator import cloudtrail
from tests.local_account.emulator_helpers import REGION, error_code

ACCOUNT = "123456789012"
START = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
KEY = "AKIAEXAMPLELOOKUP001"


@pytest.fixture
def clock(aws: None) -> Iterator[time_machine.Coordinates]:
    cloudtrail.reset()
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller
    cloudtrail.reset()


@pytest.fixture
def client(clock: time_machine.Coordinates) -> Any:
    # No retries: each test sees AWS's first answer.
    return boto3.client(
        "cloudtrail", region_name=REGION, config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )


def _record(when: datetime, name: str = "GetParameter", key: str = KEY) -> dict[str, Any]:
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "accessKeyId": key, "userName": "someone"},
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ssm.amazonaws.com",
        "eventName": name,
        "awsRegion": REGION,
        "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.17.20",
        "eventID": str(uuid.uuid4()),
        "readOnly": True,
    }


def _by_key(key: str = KEY) -> list[dict[str, str]]:
    return [{"AttributeKey": "AccessKeyId", "AttributeValue": key}]


def _paced(clock: time_machine.Coordinates) -> None:
    clock.shift(timedelta(seconds=0.5))


def test_moto_alone_has_no_lookup_events() -> None:
    # Why the local account serves it: moto 5.2.5's CloudTrail answers no LookupEvents (no such method).
    from moto.cloudtrail.models import CloudTrailBackend

    assert not hasattr(CloudTrailBackend, "lookup_events")


def test_events_come_newest_first_filtered_by_access_key(client: Any, clock: time_machine.Coordinates) -> None:
    # AWS: "Events are returned in reverse chronological order"; a lookup attribute filters them.
    for minutes in (30, 10, 20):
        cloudtrail.record(ACCOUNT, REGION, _record(START - timedelta(minutes=minutes), name=f"Call{minutes}"))
    cloudtrail.record(ACCOUNT, REGION, _record(START - timedelta(minutes=5), key="AKIAANOTHERKEY000001"))
    events = client.lookup_events(LookupAttributes=_by_key())["Events"]
    assert [e["EventName"] for e in events] == ["Call10", "Call20", "Call30"]
    assert {e["AccessKeyId"] for e in events} == {KEY}
    assert '"sourceIPAddress": "203.0.113.9"' in events[0]["CloudTrailEvent"]


def test_pages_hold_at_most_fifty_events_and_next_token_goes_on(client: Any, clock: time_machine.Coordinates) -> None:
    # AWS: MaxResults "The number of events to return. Possible values are 1 through 50. The default is 50."
    for second in range(120):
        cloudtrail.record(ACCOUNT, REGION, _record(START - timedelta(seconds=second + 1)))
    pages = []
    token = None
    while True:
        params: dict[str, Any] = {"LookupAttributes": _by_key()}
        if token:
            params["NextToken"] = token
        page = client.lookup_events(**params)
        pages.append(len(page["Events"]))
        token = page.get("NextToken")
        _paced(clock)
        if not token:
            break
    assert pages == [50, 50, 20]
    with pytest.raises(ClientError) as refused:
        client.lookup_events(LookupAttributes=_by_key(), MaxResults=51)
    assert error_code(refused) == "InvalidMaxResultsException"


def test_a_next_token_of_another_query_is_refused(client: Any, clock: time_machine.Coordinates) -> None:
    # AWS: InvalidNextTokenException, "a token that was previously used in a request with different parameters".
    for second in range(3):
        cloudtrail.record(ACCOUNT, REGION, _record(START - timedelta(seconds=second + 1)))
    token = client.lookup_events(LookupAttributes=_by_key(), MaxResults=1)["NextToken"]
    _paced(clock)
    with pytest.raises(ClientError) as refused:
        client.lookup_events(LookupAttributes=_by_key("AKIAANOTHERKEY000001"), MaxResults=1, NextToken=token)
    assert error_code(refused) == "InvalidNextTokenException"


def test_start_and_end_time_filter_and_ninety_days_of_history(client: Any, clock: time_machine.Coordinates) -> None:
    # AWS: StartTime/EndTime bound the events; the event history holds the last 90 days.
    for days in (1, 10, 40, 91):
        cloudtrail.record(ACCOUNT, REGION, _record(START - timedelta(days=days), name=f"Day{days}"))
    everything = client.lookup_events(LookupAttributes=_by_key())["Events"]
    assert [e["EventName"] for e in everything] == ["Day1", "Day10", "Day40"]
    _paced(clock)
    window = client.lookup_events(
        LookupAttributes=_by_key(), StartTime=START - timedelta(days=30), EndTime=START - timedelta(days=5)
    )["Events"]
    assert [e["EventName"] for e in window] == ["Day10"]
    _paced(clock)
    with pytest.raises(ClientError) as refused:
        client.lookup_events(StartTime=START, EndTime=START - timedelta(days=1))
    assert error_code(refused) == "InvalidTimeRangeException"


def test_only_one_lookup_attribute(client: Any) -> None:
    # AWS: "Currently the list can contain only one item" (InvalidLookupAttributesException).
    with pytest.raises(ClientError) as refused:
        client.lookup_events(
            LookupAttributes=[*_by_key(), {"AttributeKey": "EventName", "AttributeValue": "GetParameter"}]
        )
    assert error_code(refused) == "InvalidLookupAttributesException"


def test_more_than_two_requests_a_second_are_throttled(client: Any, clock: time_machine.Coordinates) -> None:
    # AWS: "The rate of lookup requests is limited to two per second, per account, per region. If this limit is
    # exceeded, a throttling error occurs." Judged on the virtual clock.
    client.lookup_events(LookupAttributes=_by_key())
    client.lookup_events(LookupAttributes=_by_key())
    with pytest.raises(ClientError) as refused:
        client.lookup_events(LookupAttributes=_by_key())
    assert error_code(refused) == "ThrottlingException"
    clock.shift(timedelta(seconds=1))
    client.lookup_events(LookupAttributes=_by_key())  # a second later, the window has room again
    # Another region has its own quota.
    elsewhere = boto3.client(
        "cloudtrail", region_name="eu-west-1", config=Config(retries={"total_max_attempts": 1, "mode": "standard"})
    )
    elsewhere.lookup_events(LookupAttributes=_by_key())
    assert cloudtrail.counts[(ACCOUNT, REGION)] == {"served": 3, "throttled": 1}
    assert cloudtrail.counts[(ACCOUNT, "eu-west-1")] == {"served": 1, "throttled": 0}


def test_two_requests_every_second_are_never_throttled(client: Any, clock: time_machine.Coordinates) -> None:
    for _ in range(10):
        client.lookup_events(LookupAttributes=_by_key())
        _paced(clock)
    assert cloudtrail.counts[(ACCOUNT, REGION)] == {"served": 10, "throttled": 0}
