"""A failure after every AWS call of a create, a rotation and a cleanup (an error, and the Lambda being killed);
then the schedules run again and the whole account is checked: nothing lost, nothing orphaned, nothing half-made."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from tests.reliability.moto_state import MotoState
from tests.reliability.reliability_account import LOCK_TABLE, World
from tests.support.moto_account import OWNER

START = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
EXTRA_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
SETTLE = timedelta(minutes=20)  # longer than any invocation and any lock hold
MODES = ("error", "kill")
# `make crash-sweep`: every point in both modes, each followed by two rounds of the schedules (the second must
# change nothing). `make test`: every point once, the modes alternating, one round.
FULL = os.environ.get("RELIABILITY_FULL_SWEEP") == "1"

Run = tuple[str, dict[str, object]]  # a function and its event
SetUp = Callable[[World, time_machine.Traveller], list[Run]]


def create_event(name: str) -> dict[str, object]:
    return {"action": "create_user", "user_name": name, "owner": OWNER, "ttl_days": 30}


def set_up_create(world: World, traveller: time_machine.Traveller) -> list[Run]:
    """An empty account; the run that fails is a manual create."""
    return [("create_keys", create_event("carol"))]


def set_up_rotation(world: World, traveller: time_machine.Traveller) -> list[Run]:
    """User a: an inactive replaced key past its delete grace and a current key due for rotation.
    User b: an active replaced key past its deactivation grace. One scheduled rotation then deletes, creates and
    deactivates."""
    a, b = "ra", "rb"
    exempt = [{"Key": "exempt-until", "Value": (START + timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")}]
    world.run("create_keys", {**create_event(a), "ttl_days": 365})
    world.iam.tag_user(UserName=a, Tags=exempt)
    traveller.move_to(START + timedelta(days=91))
    world.run("rotate_keys", {})
    traveller.move_to(START + timedelta(days=98, hours=1))
    world.run("rotate_keys", {})
    traveller.move_to(START + timedelta(days=175))
    world.run("create_keys", {**create_event(b), "ttl_days": 365})
    world.iam.tag_user(UserName=b, Tags=exempt)
    world.run("rotate_keys", {"user_name": b, "force": True})
    traveller.move_to(START + timedelta(days=182, hours=2))
    assert world.problems(settled=True) == []
    assert len(world.keys(a)) == 2 and len(world.keys(b)) == 2
    return [("rotate_keys", {})]


def set_up_cleanup(world: World, traveller: time_machine.Traveller) -> list[Run]:
    """An expired user holding a second key, a login profile and an inline policy; and an unexpired one deleted by
    hand (a cut-short manual deletion must not be undone by the reconcile). Both runs fail at the same call."""
    expired, manual = "ce", "cm"
    world.run("create_keys", {**create_event(expired), "ttl_days": 1})
    world.run("rotate_keys", {"user_name": expired, "force": True})
    world.iam.create_login_profile(UserName=expired, Password="Correct-Horse-Battery-1")
    world.iam.put_user_policy(UserName=expired, PolicyName="extra", PolicyDocument=EXTRA_POLICY)
    traveller.move_to(START + timedelta(days=2))
    world.run("create_keys", create_event(manual))
    return [("cleanup_users", {}), ("cleanup_users", {"user_name": manual})]


SCENARIOS: dict[str, SetUp] = {
    "create_keys": set_up_create,
    "rotate_keys": set_up_rotation,
    "cleanup_users": set_up_cleanup,
}


def modes_at(k: int) -> tuple[str, ...]:
    """The failures injected after call k: both in the full sweep; else an error after odd calls and a kill after
    even ones, so that `make test` fails every call of every scenario once."""
    if FULL:
        return MODES
    return ("error",) if k % 2 else ("kill",)


def fingerprint(world: World) -> dict[str, Any]:
    """What the runs could depend on, as an administrator reads it: users, keys and their last use, secret
    versions and the keys they hold, locks."""
    state = world.state()
    state["last_used"] = {
        akid: world.iam.get_access_key_last_used(AccessKeyId=akid)["AccessKeyLastUsed"].get("LastUsedDate")
        for user in state["users"].values()
        for akid, _ in user["keys"]
    }
    state["stored_keys"] = sorted(world.all_secret_access_keys())
    items = boto3.client("dynamodb").scan(TableName=LOCK_TABLE)["Items"]
    # (the open conditions' record is a binary attribute: compared by its bytes, in hex)
    state["locks"] = sorted(json.dumps(item, sort_keys=True, default=bytes.hex) for item in items)
    return state


class Built:
    """A scenario built once by real function runs, with moto's state snapshotted right after: every crash point
    starts from a restore of it (clock included) instead of a rebuild."""

    def __init__(self, world: World, traveller: time_machine.Traveller, runs: list[Run]) -> None:
        self.world, self.traveller, self.runs = world, traveller, runs
        self.fingerprint = fingerprint(world)
        self.snapshot = MotoState.capture()
        self.at = datetime.now(UTC)

    def restore(self, *, verify: bool = False) -> None:
        self.snapshot.restore()
        self.traveller.move_to(self.at)
        self.world.reports.clear()
        if verify:  # the account the functions see is the one they built, nothing left of earlier points
            assert fingerprint(self.world) == self.fingerprint, "the restored account differs from the built one"

    def count_points(self) -> list[int]:
        """Each failing run's AWS calls when nothing fails: its injection points."""
        self.restore(verify=True)
        counts = []
        for function, event in self.runs:
            self.world.run(function, event)
            counts.append(self.world.crash.count)
        assert self.world.problems(settled=False) == []
        assert not any("raised" in report or report.get("errors") for report in self.world.reports)
        return counts

    def fail_at(self, k: int, mode: str, *, verify: bool) -> tuple[list[str], list[bool]]:
        """Fail each run after its call k, then run the schedules: what is wrong with the account, and which runs
        the failure reached."""
        world = self.world
        self.restore(verify=verify)
        fired = []
        for function, event in self.runs:
            world.run(function, event, crash_at=k, mode=mode)
            fired.append(world.crash.fired)
        found = [f"right after the crash: {p}" for p in world.problems(settled=False)]
        self.traveller.shift(SETTLE)
        world.schedules()
        found += world.problems(settled=True)
        if FULL:
            # Settled for good: a second round finds nothing to repair, so the first left no latent debris.
            settled = world.state()
            self.traveller.shift(SETTLE)
            world.schedules()
            found += [f"after a second round: {p}" for p in world.problems(settled=True)]
            if world.state() != settled:
                found.append("a second round of the schedules changed the account again")
        return found, fired


@pytest.fixture
def built(world: World, request: pytest.FixtureRequest) -> Iterator[Built]:
    function: str = request.param
    with time_machine.travel(START, tick=True) as traveller:
        # The account has a credential report already, as a real one nearly always does: otherwise the first
        # scheduled run after each restore would wait a second for IAM to generate it.
        world.iam.generate_credential_report()
        yield Built(world, traveller, SCENARIOS[function](world, traveller))


def sweep(built: Built, mode: str) -> list[str]:
    counts = built.count_points()
    assert min(counts) >= 8, f"a failing run made only {counts} AWS calls"
    exercised = [k for k in range(1, max(counts) + 1) if mode in modes_at(k)]
    failures: list[str] = []
    for k in exercised:
        # The restored account is compared in full after the dry run changed it and after the last point.
        found, fired = built.fail_at(k, mode, verify=k in (exercised[0], exercised[-1]))
        if found:
            failures.append(f"{mode} after call {k}: " + "; ".join(found))
        # The failure happened in every run that makes a k-th call: no point is counted without being exercised.
        assert fired == [k <= n for n in counts], f"failing call {k} of runs making {counts} calls reached {fired}"
    print(f"{built.runs[0][0]}: failing runs make {counts} AWS calls; {mode} after calls {exercised}")
    return failures


@pytest.mark.parametrize("built", sorted(SCENARIOS), indirect=True)
def test_an_error_after_any_call_is_recovered_by_the_next_runs(built: Built) -> None:
    # Given the scenario, When call k fails (for the chosen k), Then the next schedules leave a consistent account
    assert sweep(built, "error") == []


@pytest.mark.parametrize("built", sorted(SCENARIOS), indirect=True)
def test_a_killed_invocation_at_any_call_is_recovered_by_the_next_runs(built: Built) -> None:
    assert sweep(built, "kill") == []


def test_every_call_fails_in_some_mode_in_every_sweep() -> None:
    # Given any number of calls, Then each call number is failed in at least one mode, and the modes alternate
    for k in range(1, 200):
        assert modes_at(k), f"call {k} is never failed"
    assert FULL or {modes_at(1), modes_at(2)} == {("error",), ("kill",)}
