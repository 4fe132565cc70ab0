"""rotate_keys end to end against moto, with the clock moved by time-machine over the life of a key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.support.moto_account import MANAGED_BY, PATH, Account

NAME = "temporary-iam-user"
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def day(traveller: time_machine.Traveller, number: int) -> None:
    traveller.move_to(START + timedelta(days=number))


def rotate(account: Account, event: dict[str, object] | None = None) -> dict[str, object]:
    return account.invoke("rotate_keys", event if event is not None else {})


def actions(report: dict[str, object]) -> list[tuple[str, str, str | None]]:
    return [(a["action"], a["status"], a["access_key_id"]) for a in report["actions"]]  # type: ignore[index,union-attr]


def codes(report: dict[str, object]) -> list[str]:
    return [w["code"] for w in report["warnings"]]  # type: ignore[index,union-attr]


def test_a_key_is_rotated_deactivated_and_deleted_on_schedule(
    account: Account, traveller: time_machine.Traveller
) -> None:
    # Given a user created on day 0 with one key, long-lived enough to see rotations
    old = account.create(NAME, ttl_days=365)["access_key_id"]

    # When the daily rotation runs on day 89, nothing is due
    day(traveller, 89)
    assert rotate(account)["actions"] == []

    # When it runs on day 91
    day(traveller, 91)
    report = rotate(account)

    # Then a new key is current, the old one AWSPREVIOUS and still active (clients get a grace period)
    (created,) = actions(report)
    assert created[:2] == ("create_key", "done")
    new = created[2]
    assert account.keys(NAME) == {old: "Active", new: "Active"}
    assert account.stages(NAME) == {old: ["AWSPREVIOUS"], new: ["AWSCURRENT"]}
    assert account.secret_value(NAME)["access_key_id"] == new
    assert account.tags(NAME)[f"current-since:{new}"].startswith("2030-04-02")

    # When it runs 7 days after the cut-over, with the old key unused since
    day(traveller, 98)
    report = rotate(account)

    # Then the old key is deactivated and the time recorded
    assert actions(report) == [("deactivate_key", "done", old)]
    assert account.keys(NAME) == {old: "Inactive", new: "Active"}
    assert account.tags(NAME)[f"deactivated-at:{old}"].startswith("2030-04-09")

    # When it runs before the delete grace is over, nothing happens; after it, the old key is deleted
    day(traveller, 104)
    assert rotate(account)["actions"] == []
    day(traveller, 105)
    report = rotate(account)
    assert actions(report) == [("delete_key", "done", old)]
    assert account.keys(NAME) == {new: "Active"}
    tags = account.tags(NAME)
    assert f"deactivated-at:{old}" not in tags and f"current-since:{old}" not in tags


def test_deactivation_waits_while_the_old_key_is_used_until_the_hard_cap(
    account: Account, traveller: time_machine.Traveller
) -> None:
    # Given a key rotated on day 91
    account.create(NAME, ttl_days=365)
    old_secret = account.secret_value(NAME)
    day(traveller, 91)
    rotate(account)
    old = old_secret["access_key_id"]

    # When a consumer still uses the old key on day 95
    day(traveller, 95)
    account.use_key(old, old_secret["secret_access_key"])

    # Then on day 98 its deactivation is postponed with a warning
    day(traveller, 98)
    report = rotate(account)
    assert report["actions"] == []
    assert codes(report) == ["deactivation_postponed"]
    assert account.keys(NAME)[old] == "Active"

    # And once it reaches the hard maximum age (120 days) it is deactivated anyway, and the owner warned
    day(traveller, 119)
    assert codes(rotate(account)) == ["deactivation_postponed"]
    day(traveller, 121)
    report = rotate(account)
    assert actions(report) == [("deactivate_key", "done", old)]
    assert codes(report) == ["hard_cap_deactivated"]
    assert account.keys(NAME)[old] == "Inactive"
    # And the notification of that run is addressed to the user's owner
    last = account.notifications()[-1]
    assert last["attributes"] == {"owner": "platform-team@example.com", "kind": "run"}
    assert f"key {old}: access key deactivated" in last["message"]
    assert "reached the hard maximum age of 120 days" in last["message"]


def test_forced_rotation_replaces_the_key_now(account: Account) -> None:
    # Given a fresh user
    old = account.create(NAME)["access_key_id"]

    # When the operator forces a rotation
    report = rotate(account, {"user_name": NAME, "force": True})

    # Then a verified replacement is current at once and the old key is kept for the grace period
    (created,) = actions(report)
    new = created[2]
    assert created[:2] == ("create_key", "done") and new != old
    assert account.stages(NAME) == {old: ["AWSPREVIOUS"], new: ["AWSCURRENT"]}
    assert account.keys(NAME) == {old: "Active", new: "Active"}


def test_two_active_keys_are_never_touched(account: Account) -> None:
    # Given a user whose replaced key is still active next to its current key
    account.create(NAME)
    rotate(account, {"user_name": NAME, "force": True})
    state = account.state()

    # When another rotation is forced
    report = rotate(account, {"user_name": NAME, "force": True})

    # Then neither key is deleted or created: it is skipped with a warning
    assert report["actions"] == []
    assert codes(report) == ["two_active_keys"]
    assert account.state() == state


def test_rotation_dry_run_changes_nothing(account: Account, traveller: time_machine.Traveller) -> None:
    account.create(NAME, ttl_days=365)
    day(traveller, 91)
    state = account.state()

    report = rotate(account, {"dry_run": True})

    assert report["dry_run"] is True
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("create_key", "planned")]
    assert account.state() == state


def test_rotation_of_an_unmanaged_user_is_refused(account: Account) -> None:
    # Given a user in the managed path without the stack's tag
    account.iam.create_user(UserName="someone", Path=PATH, Tags=[{"Key": "managed-by", "Value": "other"}])
    account.iam.create_access_key(UserName="someone")
    state = account.state()

    # When a forced rotation names it
    report = rotate(account, {"user_name": "someone", "force": True})

    # Then it is refused and nothing changes
    assert "not managed" in report["errors"][0]
    assert account.state() == state


def test_rotation_failure_stops_only_that_user(account: Account, traveller: time_machine.Traveller) -> None:
    # Given two users due for rotation, one of whose secrets cannot be written
    account.create("first-user", ttl_days=365)
    account.create("second-user", ttl_days=365)
    day(traveller, 91)
    account.faults.fail("PutSecretValue")

    # When the rotation runs
    report = rotate(account)

    # Then both fail at the storage step, each new key is deleted again (never a key without its secret)
    assert [(a["user_name"], a["status"]) for a in report["actions"]] == [
        ("first-user", "failed"),
        ("second-user", "failed"),
    ]
    assert all("was deleted again" in a["detail"] for a in report["actions"])
    assert len(account.keys("first-user")) == 1 and len(account.keys("second-user")) == 1
    # And the next run, with Secrets Manager back, rotates both
    account.faults.clear()
    assert [a["status"] for a in rotate(account)["actions"]] == ["done", "done"]


def test_managed_user_outside_the_tag_is_never_rotated(account: Account, traveller: time_machine.Traveller) -> None:
    # Given an old key of a user with the tag but outside the managed path
    account.iam.create_user(UserName="elsewhere", Path="/", Tags=[{"Key": "managed-by", "Value": MANAGED_BY}])
    account.iam.create_access_key(UserName="elsewhere")
    day(traveller, 200)
    state = account.state()

    # When the rotation runs
    report = rotate(account)

    # Then that user is not even mentioned
    assert report["actions"] == [] and report["warnings"] == []
    assert account.state() == state
