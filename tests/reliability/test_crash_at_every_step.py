"""A failure after every AWS call of a create, a rotation and a cleanup (an error, and the Lambda being killed);
then the schedules run again and the whole account is checked: nothing lost, nothing orphaned, nothing half-made."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from reliability_account import World

from tests.integration.moto_account import OWNER

START = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
EXTRA_POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}'
SETTLE = timedelta(minutes=20)  # longer than any invocation and any lock hold
# Injection points per function, as measured by the sweeps (reported in the README's failure-mode table).
MEASURED: dict[str, int] = {}


def create_event(name: str) -> dict[str, object]:
    return {"action": "create_user", "user_name": name, "owner": OWNER, "ttl_days": 30}


def set_up_create(world: World, traveller: time_machine.Coordinates, base: datetime, tag: str) -> Callable[..., None]:
    def crash_run(**crash: object) -> None:
        world.run("create_keys", create_event(f"c{tag}"), **crash)  # type: ignore[arg-type]

    return crash_run


def set_up_rotation(world: World, traveller: time_machine.Coordinates, base: datetime, tag: str) -> Callable[..., None]:
    """User a: an inactive replaced key past its delete grace and a current key due for rotation.
    User b: an active replaced key past its deactivation grace. One scheduled rotation then deletes, creates and
    deactivates."""
    a, b = f"ra{tag}", f"rb{tag}"
    exempt = [{"Key": "exempt-until", "Value": (base + timedelta(days=730)).strftime("%Y-%m-%dT%H:%M:%SZ")}]
    world.run("create_keys", {**create_event(a), "ttl_days": 365})
    world.iam.tag_user(UserName=a, Tags=exempt)
    traveller.move_to(base + timedelta(days=91))
    world.run("rotate_keys", {})
    traveller.move_to(base + timedelta(days=98, hours=1))
    world.run("rotate_keys", {})
    traveller.move_to(base + timedelta(days=175))
    world.run("create_keys", {**create_event(b), "ttl_days": 365})
    world.iam.tag_user(UserName=b, Tags=exempt)
    world.run("rotate_keys", {"user_name": b, "force": True})
    traveller.move_to(base + timedelta(days=182, hours=2))
    assert world.problems(settled=True) == []
    assert len(world.keys(a)) == 2 and len(world.keys(b)) == 2

    def crash_run(**crash: object) -> None:
        world.run("rotate_keys", {}, **crash)  # type: ignore[arg-type]

    return crash_run


def set_up_cleanup(world: World, traveller: time_machine.Coordinates, base: datetime, tag: str) -> Callable[..., None]:
    """An expired user holding a second key, a login profile and an inline policy; and an unexpired one deleted by
    hand (a cut-short manual deletion must not be undone by the reconcile)."""
    expired, manual = f"ce{tag}", f"cm{tag}"
    world.run("create_keys", {**create_event(expired), "ttl_days": 1})
    world.run("rotate_keys", {"user_name": expired, "force": True})
    world.iam.create_login_profile(UserName=expired, Password="Correct-Horse-Battery-1")
    world.iam.put_user_policy(UserName=expired, PolicyName="extra", PolicyDocument=EXTRA_POLICY)
    traveller.move_to(base + timedelta(days=2))
    world.run("create_keys", create_event(manual))

    def crash_run(**crash: object) -> None:
        world.run("cleanup_users", {}, **crash)  # type: ignore[arg-type]
        world.run("cleanup_users", {"user_name": manual}, **crash)  # type: ignore[arg-type]

    return crash_run


SCENARIOS = {"create_keys": set_up_create, "rotate_keys": set_up_rotation, "cleanup_users": set_up_cleanup}


# Every step in both modes takes minutes (`make crash-sweep`); `make test` runs an even sample that still
# reaches every step of the create and, across the two modes, a spread of rotation and cleanup steps.
FULL = os.environ.get("RELIABILITY_FULL_SWEEP") == "1"
SAMPLES = {"create_keys": 2, "rotate_keys": 16, "cleanup_users": 12}  # every n-th step in `make test`


def chosen(function: str, mode: str, points: int) -> list[int]:
    if FULL:
        return list(range(1, points + 1))
    stride = SAMPLES[function]
    offset = 0 if mode == "error" else stride // 2  # the two modes sample different steps (both, for the create)
    return [k for k in range(1, points + 1) if (k - 1) % stride == offset]


def sweep(world: World, function: str, mode: str) -> list[str]:
    set_up = SCENARIOS[function]
    failures: list[str] = []
    with time_machine.travel(START, tick=True) as traveller:
        # A run without a crash tells how many AWS calls the scenario's crashing run makes.
        set_up(world, traveller, START, "x")(crash_at=None)
        points = world.crash.count
        world.empty()
        MEASURED[function] = points
        for k in chosen(function, mode, points):
            base = START + timedelta(days=1000 * k)
            traveller.move_to(base)
            crash_run = set_up(world, traveller, base, str(k))
            world.reports.clear()
            crash_run(crash_at=k, mode=mode)
            fired = world.crash.fired or any(r.get("killed") for r in world.reports)
            found = [f"right after the crash: {p}" for p in world.problems(settled=False)]
            traveller.shift(SETTLE)
            world.schedules()
            traveller.shift(SETTLE)
            world.schedules()
            found += world.problems(settled=True)
            if found:
                failures.append(f"{mode} after call {k}: " + "; ".join(found))
            assert fired, f"call {k} was never reached"
            world.empty()
    assert points >= 8, f"the {function} scenario made only {points} AWS calls"
    print(f"{function}: {points} injection points, {mode}: {len(chosen(function, mode, points))} exercised")
    return failures


@pytest.mark.parametrize("function", sorted(SCENARIOS))
def test_an_error_after_any_call_is_recovered_by_the_next_runs(world: World, function: str) -> None:
    # Given the scenario, When call k fails for every k, Then the next schedules leave a consistent account
    assert sweep(world, function, "error") == []


@pytest.mark.parametrize("function", sorted(SCENARIOS))
def test_a_killed_invocation_at_any_call_is_recovered_by_the_next_runs(world: World, function: str) -> None:
    assert sweep(world, function, "kill") == []
