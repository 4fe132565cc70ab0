"""A manual rotation and a manual cleanup of one user at the same moment: one acts, the other skips saying why,
and the account is never half rotated and half deleted."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from key_lifecycle.handlers.common import get_aws
from tests.reliability.reliability_account import World
from tests.reliability.reliability_sync import MeetAtFirstLock, atomic_conditional_writes
from tests.support.moto_account import OWNER, PREFIX

START = datetime(2034, 2, 1, 9, 0, tzinfo=UTC)
NAME = "contested"
CALLS = {
    "rotate": ("rotate_keys", {"user_name": NAME, "force": True}),
    "cleanup": ("cleanup_users", {"user_name": NAME}),
}


def at_once(world: World, meet: MeetAtFirstLock, calls: dict[str, tuple[str, Any]]) -> dict[str, dict[str, Any]]:
    """Invoke the handlers in threads that both read the account before either takes the user's lock."""
    meet.arm()
    results: dict[str, dict[str, Any]] = {}

    def invoke(label: str, function: str, event: dict[str, Any]) -> None:
        results[label] = world.invoke(function, event)

    threads = [threading.Thread(target=invoke, args=(label, *call)) for label, call in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def skipped(report: dict[str, Any]) -> bool:
    codes = [(w["user_name"], w["code"]) for w in report["warnings"]]
    return codes == [(NAME, "locked_by_another_run")] and {a["status"] for a in report["actions"]} == {"planned"}


def done(report: dict[str, Any]) -> bool:
    return bool(report["actions"]) and {a["status"] for a in report["actions"]} == {"done"} and not report["errors"]


@pytest.mark.parametrize("attempt", range(3))
def test_rotation_and_cleanup_at_once_never_both_act_on_one_user(
    world: World, monkeypatch: pytest.MonkeyPatch, attempt: int
) -> None:
    atomic_conditional_writes(monkeypatch)
    meet = MeetAtFirstLock(parties=len(CALLS))
    meet.install(get_aws().session.events)
    with time_machine.travel(START + timedelta(days=attempt), tick=True) as traveller:
        # Given a managed user with one stored, verified key
        world.run("create_keys", {"action": "create_user", "user_name": NAME, "owner": OWNER, "ttl_days": 30})
        (first_key,) = world.keys(NAME)
        # When a forced rotation and a manual deletion of that user run at the same moment
        results = at_once(world, meet, CALLS)
        # Then exactly one of them acted, completely, and the other skipped naming the lock
        winner = "rotate" if done(results["rotate"]) else "cleanup"
        loser = "cleanup" if winner == "rotate" else "rotate"
        assert done(results[winner]), results
        assert skipped(results[loser]), results[loser]
        # And the account is in the winner's state, never a mix
        assert world.problems(settled=False) == []
        if winner == "rotate":
            keys = world.keys(NAME)
            assert set(keys) == set(world.stages(NAME)) and first_key in keys and len(keys) == 2
            assert world.stages(NAME)[first_key] == ["AWSPREVIOUS"]
        else:
            assert world.user(NAME) is None
            secret = world.secret(NAME)
            assert secret is not None and "DeletedDate" in secret and secret["Name"] == PREFIX + NAME

        # When the loser is invoked again once the winner is done
        traveller.shift(timedelta(minutes=1))
        again = world.invoke(*CALLS[loser])
    # Then it decides on the account as the winner left it (a deleted user is not rotated; a rotated one is deleted)
    if loser == "rotate":
        assert again["actions"] == [] and f"user {NAME} does not exist" in again["errors"][0]
    else:
        assert done(again) and world.user(NAME) is None
    assert world.problems(settled=True) == []
