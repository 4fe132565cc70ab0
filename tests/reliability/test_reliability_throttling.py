"""Throttling and 5xx answers at a rate, retried by botocore; and runs cut short by the Lambda time budget that
stop cleanly, say which users are left, and leave them to the next run."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.awsrequest import AWSResponse
from botocore.retries import bucket

from key_lifecycle.handlers.common import get_aws
from tests.reliability.reliability_account import World
from tests.support.lambda_context import make_lambda_context
from tests.support.moto_account import OWNER, PREFIX

START = datetime(2033, 5, 1, 9, 0, tzinfo=UTC)
FAULT_RATE = 0.12  # low enough that botocore's retry quota (500 tokens, 5 per retry) is never used up
SEED = 20330501


def create(name: str, ttl_days: int = 365) -> dict[str, Any]:
    return {"action": "create_user", "user_name": name, "owner": OWNER, "ttl_days": ttl_days}


class _Body:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


class FlakyHttp:
    """`before-send` hooks: a seeded share of the HTTP requests get a 400 Throttling or a 500/503 answer instead of
    reaching the service (as AWS does: a throttled request is not processed), so botocore's own retry handling
    and adaptive rate limiting deal with them.

    moto answers on `before-send` too and botocore calls every handler, so a refused request is pointed at an
    address moto does not serve while moto's handler runs, and pointed back afterwards for botocore's retry."""

    UNSERVED = "https://refused.invalid/"

    def __init__(self, rate: float, seed: int) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.sent = 0
        self.injected: Counter[str] = Counter()
        self._urls: dict[int, str] = {}

    def install(self, events: Any) -> None:
        events.register_first("before-send", self.refuse)
        events.register_last("before-send", self.restore)

    def refuse(self, request: Any, **_: Any) -> AWSResponse | None:
        with self.lock:
            self.sent += 1
            roll = self.random.random()
        if roll >= self.rate:
            return None
        status, code = (400, "Throttling") if roll < self.rate / 2 else (500, "InternalFailure")
        if roll > self.rate * 0.9:
            status, code = 503, "ServiceUnavailable"
        if "X-Amz-Target" in request.headers:  # the JSON protocols (Secrets Manager, DynamoDB, EventBridge)
            code = "ThrottlingException" if code == "Throttling" else code
            body = f'{{"__type": "{code}", "message": "injected"}}'.encode()
            headers = {"Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": "injected"}
        else:  # the query protocol (IAM, STS, SNS)
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error>"
                "<RequestId>injected</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        with self.lock:
            self.injected[code] += 1
            self._urls[id(request)] = request.url
        response = AWSResponse(request.url, status, headers, _Body(body))
        request.url = self.UNSERVED
        return response

    def restore(self, request: Any, **_: Any) -> None:
        with self.lock:
            url = self._urls.pop(id(request), None)
        if url is not None:
            request.url = url


@pytest.fixture
def flaky(world: World, monkeypatch: pytest.MonkeyPatch) -> FlakyHttp:
    """Installed on the functions' session before any client exists; botocore's waits are recorded, not slept."""
    waits: list[float] = []
    monkeypatch.setattr("botocore.endpoint.time.sleep", waits.append)  # botocore's retry backoff
    original = bucket.TokenBucket._sleep_amount

    def no_wait(self: bucket.TokenBucket, amount: float) -> float:
        waits.append(original(self, amount))  # the adaptive limiter's wait
        return 0

    monkeypatch.setattr(bucket.TokenBucket, "_sleep_amount", no_wait)
    hook = FlakyHttp(FAULT_RATE, SEED)
    hook.install(get_aws().session.events)
    return hook


def failures(reports: list[dict[str, Any]]) -> list[Any]:
    found: list[Any] = []
    for report in reports:
        if "raised" in report or "killed" in report:
            found.append(report)
            continue
        found += report["errors"]
        found += [a for a in report["actions"] if a["status"] != "done"]
    return found


def current_key(world: World, name: str) -> str:
    (akid,) = [k for k, stages in world.stages(name).items() if stages == ["AWSCURRENT"]]
    return akid


def shape(world: World) -> dict[str, Any]:
    """The account with ids and times left out: what a run decides, not when it ran."""
    users = {}
    for detail in world.managed_users():
        name = detail["UserName"]
        keys = world.keys(name)
        stages = world.stages(name)
        users[name] = {
            "keys": sorted((stages.get(akid, ["no secret"]), status) for akid, status in keys.items()),
            "tags": sorted({t["Key"].split(":")[0] for t in detail.get("Tags", [])}),
            "groups": detail.get("GroupList", []),
        }
    secrets = {
        s["Name"]: ("DeletedDate" in s, len(s.get("SecretVersionsToStages", {})))
        for s in world.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    }
    return {"users": users, "secrets": secrets}


def lifecycle(world: World, base: datetime) -> dict[str, str]:
    """Three users created, one key rotated by hand, then two rounds of the schedules three months later."""
    with time_machine.travel(base, tick=True) as traveller:
        for name in ("steady", "forced", "brief"):
            world.run("create_keys", create(name, ttl_days=30 if name == "brief" else 365))
        first = {name: current_key(world, name) for name in ("steady", "forced", "brief")}
        world.run("rotate_keys", {"user_name": "forced", "force": True})
        traveller.move_to(base + timedelta(days=91))
        world.schedules()
        traveller.shift(timedelta(days=8))
        world.schedules()
    return first


def test_create_rotate_and_cleanup_finish_through_throttling_and_5xx(world: World, flaky: FlakyHttp) -> None:
    # Given the state the lifecycle leaves when AWS answers every request
    flaky.rate = 0
    lifecycle(world, START)
    expected = shape(world)
    assert failures(world.reports) == []
    world.empty()

    # When the same lifecycle runs while IAM, Secrets Manager, STS, SNS, EventBridge and DynamoDB answer a share
    # of the requests with Throttling or 5xx
    flaky.rate = FAULT_RATE
    first = lifecycle(world, START + timedelta(days=1000))

    # Then every run finished without an error or a failed action, and left the same account
    assert failures(world.reports) == []
    assert world.problems(settled=True) == []
    assert shape(world) == expected
    # And keys were rotated and the expired user is gone with its secret in its recovery window
    assert "steady" in expected["users"] and "brief" not in expected["users"]
    assert current_key(world, "steady") != first["steady"]
    assert expected["secrets"][PREFIX + "brief"][0] is True
    # And the faults were really there, of every kind, and botocore (not the code) absorbed them
    assert flaky.injected["Throttling"] >= 3 and flaky.injected["ThrottlingException"] >= 1
    assert flaky.injected["InternalFailure"] >= 5 and flaky.injected["ServiceUnavailable"] >= 1
    assert sum(flaky.injected.values()) >= FAULT_RATE * flaky.sent / 2


# The Lambda time budget ---------------------------------------------------------------------------------------


def shrinking_context(world: World, start_ms: int, per_key_ms: int) -> LambdaContext:
    """A Lambda context whose remaining time falls with each new access key the run creates."""
    keys_before = len(world.faults.params_of("CreateAccessKey"))

    def remaining_ms() -> int:
        made = len(world.faults.params_of("CreateAccessKey")) - keys_before
        return start_ms - made * per_key_ms

    return make_lambda_context(remaining_ms=remaining_ms)


NAMES = [f"budget{i}" for i in range(6)]


def test_a_run_near_its_time_limit_stops_cleanly_and_the_next_run_finishes(world: World) -> None:
    with time_machine.travel(START, tick=True) as traveller:
        # Given six users whose keys are due for rotation
        for name in NAMES:
            world.run("create_keys", create(name))
        first = {name: current_key(world, name) for name in NAMES}
        traveller.move_to(START + timedelta(days=91))
        # When the scheduled rotation runs with a budget that falls below the reserve after two new keys
        reserve_ms = (5 + 15) * 1000  # VERIFY_TIMEOUT_SECONDS + 15 s, as the handlers compute it
        world.context = shrinking_context(world, reserve_ms + 25_000, 10_000)
        report = world.run("rotate_keys", {})

        # Then it reports the users it did not start, by name, once
        (warning,) = [w for w in report["warnings"] if w["code"] == "time_budget_exhausted"]
        rotated = [n for n in NAMES if current_key(world, n) != first[n]]
        left = [n for n in NAMES if n not in rotated]
        assert rotated and left, (rotated, left)
        assert all(name in warning["message"] for name in left)
        assert f"{len(left)} users were not started" in warning["message"]
        # And the users it started were finished, the others were not touched at all
        for action in report["actions"]:
            assert action["status"] == ("done" if action["user_name"] in rotated else "planned"), action
        for name in left:
            assert list(world.keys(name)) == [first[name]]
        assert report["errors"] == [] and world.problems(settled=False) == []

        # When the next scheduled run has time
        world.context = make_lambda_context()
        traveller.shift(timedelta(hours=1))
        again = world.run("rotate_keys", {})

    # Then it rotates exactly the users left over, and reports nothing left
    assert sorted({a["user_name"] for a in again["actions"] if a["action"] == "create_key"}) == sorted(left)
    assert not [w for w in again["warnings"] if w["code"] == "time_budget_exhausted"]
    assert all(current_key(world, n) != first[n] for n in NAMES)
    assert world.problems(settled=True) == []


def test_a_run_started_with_too_little_time_changes_nothing_and_names_everyone(world: World) -> None:
    with time_machine.travel(START, tick=True) as traveller:
        # Given two expired users
        for name in ("late1", "late2"):
            world.run("create_keys", create(name, ttl_days=1))
        traveller.move_to(START + timedelta(days=3))
        before = world.state()
        # When the cleanup starts with less time left than one user needs
        world.context = shrinking_context(world, 15_000, 0)
        report = world.run("cleanup_users", {})
    # Then nothing changed, and both users are named as left for the next run
    assert world.state() == before
    (warning,) = [w for w in report["warnings"] if w["code"] == "time_budget_exhausted"]
    assert "late1" in warning["message"] and "late2" in warning["message"]
    assert {a["status"] for a in report["actions"]} == {"planned"}
