"""plan_cleanup: which managed users are stale, exemptions, garbled tags, and the one-user request."""

from __future__ import annotations

from datetime import datetime

import pytest

from key_lifecycle.domain.cleanup import plan_cleanup
from key_lifecycle.domain.plan import RequestRefused
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import UserState
from tests.support.snapshot_builders import NOW, SETTINGS, ago, ahead, codes, key, snapshot, steps, user, version


def active_user(name: str = "alice", **kwargs: object) -> UserState:
    """A managed user whose key was used yesterday, created 200 days ago, expiring in 30 days."""
    defaults: dict[str, object] = {
        "keys": [key(1, created=ago(days=200), last_used=ago(days=1))],
        "versions": [version(1, "AWSCURRENT")],
        "created": ago(days=200),
    }
    return user(name, **{**defaults, **kwargs})  # type: ignore[arg-type]


DELETE_BOTH = [("alice", "delete_user", None), ("alice", "delete_secret", None)]


def test_an_active_unexpired_user_is_kept() -> None:
    plan = plan_cleanup(snapshot(active_user()), NOW, SETTINGS)
    assert plan.actions == [] and plan.warnings == []


@pytest.mark.parametrize(
    ("expires", "deleted"),
    [(ahead(seconds=1), False), (NOW, True), (ago(seconds=1), True)],
    ids=["one-second-before", "exactly-at", "one-second-after"],
)
def test_a_user_is_stale_from_exactly_its_expiry(expires: datetime, deleted: bool) -> None:
    # Given an active user expiring around now / When cleanup is planned
    plan = plan_cleanup(snapshot(active_user(expires=expires)), NOW, SETTINGS)
    # Then from its expiry on, the user and then its secret are deleted, with the expiry in the reason
    assert (steps(plan) == DELETE_BOTH) is deleted
    if deleted:
        assert plan.actions[0].reason == "expired at " + expires.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_stale_user_without_a_secret_gets_only_delete_user() -> None:
    plan = plan_cleanup(snapshot(active_user(expires=ago(days=1), secret=False)), NOW, SETTINGS)
    assert steps(plan) == [("alice", "delete_user", None)]


def test_a_secret_already_scheduled_for_deletion_is_not_deleted_again() -> None:
    plan = plan_cleanup(snapshot(active_user(expires=ago(days=1), secret_deleted=ago(days=2))), NOW, SETTINGS)
    assert steps(plan) == [("alice", "delete_user", None)]


@pytest.mark.parametrize(
    "tags", [{}, {"expires-at": "31/12/2099"}, {"expires-at": ""}], ids=["missing", "dmy", "empty"]
)
def test_a_missing_or_garbled_expiry_is_reported_and_never_a_reason_to_delete(tags: dict[str, str]) -> None:
    plan = plan_cleanup(snapshot(active_user(expires=None, tags=tags)), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["bad_expires_at"]


def test_a_garbled_expiry_does_not_protect_a_user_unused_for_the_stale_period() -> None:
    subject = active_user(expires=None, tags={"expires-at": "soon"}, keys=[key(1, created=ago(days=200))])
    plan = plan_cleanup(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == DELETE_BOTH
    assert codes(plan) == ["bad_expires_at"]


@pytest.mark.parametrize(
    ("seconds_past_90_days", "deleted"),
    [(-1, False), (0, True), (1, True)],
    ids=["one-second-before", "exactly-at", "one-second-after"],
)
def test_a_user_whose_keys_were_last_used_the_stale_period_ago_is_stale(
    seconds_past_90_days: int, deleted: bool
) -> None:
    subject = active_user(keys=[key(1, created=ago(days=200), last_used=ago(days=90, seconds=seconds_past_90_days))])
    plan = plan_cleanup(snapshot(subject), NOW, SETTINGS)
    assert (steps(plan) == DELETE_BOTH) is deleted
    if deleted:
        assert plan.actions[0].reason.startswith("no key used for 90 days (last used ")


def test_the_most_recent_use_of_any_key_counts() -> None:
    subject = active_user(
        keys=[key(1, created=ago(days=200), last_used=ago(days=150)), key(2, created=ago(days=100), last_used=NOW)]
    )
    assert plan_cleanup(snapshot(subject), NOW, SETTINGS).actions == []


@pytest.mark.parametrize(
    ("created", "deleted"),
    [(ago(days=90, seconds=-1), False), (ago(days=90), True)],
    ids=["one-second-younger", "exactly-the-stale-period"],
)
def test_a_never_used_user_is_stale_once_older_than_the_stale_period(created: datetime, deleted: bool) -> None:
    subject = active_user(created=created, keys=[key(1, created=created)])
    plan = plan_cleanup(snapshot(subject), NOW, SETTINGS)
    assert (steps(plan) == DELETE_BOTH) is deleted
    if deleted:
        assert plan.actions[0].reason == "no key used for 90 days (never used)"


def test_a_never_used_user_without_keys_is_stale_once_old_enough() -> None:
    subject = active_user(created=ago(days=91), keys=[], versions=[])
    assert steps(plan_cleanup(snapshot(subject), NOW, SETTINGS)) == DELETE_BOTH


def test_the_stale_period_comes_from_the_settings() -> None:
    subject = active_user(keys=[key(1, created=ago(days=200), last_used=ago(days=10))])
    assert steps(plan_cleanup(snapshot(subject), NOW, Settings(stale_after_days=10))) == DELETE_BOTH
    assert plan_cleanup(snapshot(subject), NOW, Settings(stale_after_days=11)).actions == []


# --- exemptions -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exempt_until", "deleted"),
    [("2025-06-01T12:00:01Z", False), ("2025-06-01T12:00:00Z", True), ("2025-06-01T11:59:59Z", True)],
    ids=["one-second-ahead", "exactly-now", "one-second-ago"],
)
def test_an_exemption_in_the_future_skips_an_expired_user(exempt_until: str, deleted: bool) -> None:
    # Given an expired user carrying exempt-until around now
    subject = active_user(expires=ago(days=10), tags={"exempt-until": exempt_until, "exempt-reason": "audit"})
    # When cleanup is planned
    plan = plan_cleanup(snapshot(subject), NOW, SETTINGS)
    # Then it is deleted only once the exemption has run out, and an exemption adds no warning
    assert (steps(plan) == DELETE_BOTH) is deleted
    assert plan.warnings == []


def test_a_date_only_exemption_protects_until_the_start_of_that_day() -> None:
    subject = active_user(expires=ago(days=10), tags={"exempt-until": "2025-06-02"})
    assert plan_cleanup(snapshot(subject), NOW, SETTINGS).actions == []


@pytest.mark.parametrize("raw", ["forever", "2025-02-30", ""])
def test_a_garbled_exemption_is_reported_and_protects_the_user(raw: str) -> None:
    subject = active_user(expires=ago(days=10), tags={"exempt-until": raw})
    plan = plan_cleanup(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["bad_exempt_until"]


# --- one user on request, refusals, scope ---------------------------------------------------------------------------


def test_a_named_managed_user_is_deleted_on_request_even_if_active_and_exempt() -> None:
    subject = active_user(tags={"exempt-until": "2099-01-01"})
    plan = plan_cleanup(snapshot(subject, active_user("bob", expires=ago(days=1))), NOW, SETTINGS, user_name="ALICE")
    assert steps(plan) == DELETE_BOTH
    assert plan.actions[0].reason == "requested"


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        (active_user("bob"), "user alice does not exist"),
        (active_user("alice", managed_by=None), "user alice is not managed by this stack"),
        (active_user("alice", managed_by="another-deployment"), "user alice is not managed by this stack"),
        (active_user("alice", path="/"), "user alice is not managed by this stack"),
    ],
    ids=["unknown", "in-path-untagged", "other-deployment", "root-path"],
)
def test_a_named_user_that_is_unknown_or_unmanaged_is_refused(subject: UserState, message: str) -> None:
    with pytest.raises(RequestRefused, match=message):
        plan_cleanup(snapshot(subject), NOW, SETTINGS, user_name="alice")


def test_unmanaged_users_are_never_deleted_and_in_path_ones_are_reported() -> None:
    # Given expired-looking users that are not ours, beside one of ours
    users = [
        active_user("admin", path="/", expires=ago(days=10)),
        active_user("intruder", managed_by=None, expires=ago(days=10)),
        active_user("zed", expires=ago(days=10)),
        active_user("Bob", expires=ago(days=10)),
    ]
    # When cleanup is planned
    plan = plan_cleanup(snapshot(*users), NOW, SETTINGS)
    # Then only managed users are deleted, in name order, and the in-path intruder is reported
    assert [(a.user_name, a.action.value) for a in plan.actions] == [
        ("Bob", "delete_user"),
        ("Bob", "delete_secret"),
        ("zed", "delete_user"),
        ("zed", "delete_secret"),
    ]
    assert [(w.code, w.user_name) for w in plan.warnings] == [("unmanaged_in_path", "intruder")]
