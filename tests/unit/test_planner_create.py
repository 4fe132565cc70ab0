"""plan_create_user (the manual create) and plan_reconcile (the create function's schedule)."""

from __future__ import annotations

from datetime import datetime

import pytest

from key_lifecycle.domain.create import plan_create_user, plan_reconcile
from key_lifecycle.domain.plan import RequestRefused
from key_lifecycle.models.events import CreateUserEvent
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import UserState
from tests.support.snapshot_builders import (
    NOW,
    PATH,
    SETTINGS,
    ago,
    ahead,
    codes,
    iso,
    key,
    key_id,
    snapshot,
    steps,
    user,
    version,
)


def request(name: str = "temporary-iam-user", ttl_days: int | None = 7) -> CreateUserEvent:
    return CreateUserEvent(action="create_user", user_name=name, owner="platform-team@example.com", ttl_days=ttl_days)


# --- plan_create_user -----------------------------------------------------------------------------------------------


def test_a_new_user_gets_create_user_then_create_key() -> None:
    # Given an account without the requested user
    # When a 7-day user is requested
    plan = plan_create_user(request(ttl_days=7), snapshot(user("someone-else")), NOW, SETTINGS)
    # Then the plan creates the user, then its first key, and the reason carries the owner and the expiry
    assert steps(plan) == [("temporary-iam-user", "create_user", None), ("temporary-iam-user", "create_key", None)]
    assert "platform-team@example.com" in plan.actions[0].reason
    assert iso(ahead(days=7)) in plan.actions[0].reason
    assert plan.warnings == []


def test_the_default_ttl_applies_when_the_request_has_none() -> None:
    plan = plan_create_user(request(ttl_days=None), snapshot(), NOW, Settings(default_ttl_days=3))
    assert iso(ahead(days=3)) in plan.actions[0].reason


def test_a_ttl_at_the_maximum_is_accepted() -> None:
    plan = plan_create_user(request(ttl_days=30), snapshot(), NOW, Settings(max_ttl_days=30))
    assert [a.action.value for a in plan.actions] == ["create_user", "create_key"]


def test_a_ttl_over_the_maximum_is_refused_naming_the_field_and_the_maximum() -> None:
    # Given a maximum of 30 days / When 31 are requested / Then refused, naming ttl_days and 30
    with pytest.raises(RequestRefused, match=r"ttl_days 31 exceeds the maximum of 30 days"):
        plan_create_user(request(ttl_days=31), snapshot(), NOW, Settings(max_ttl_days=30))


@pytest.mark.parametrize("name", ["root", "ROOT", "Root"])
def test_the_name_root_is_refused_in_any_case(name: str) -> None:
    with pytest.raises(RequestRefused, match=name):
        plan_create_user(request(name), snapshot(), NOW, SETTINGS)


@pytest.mark.parametrize("requested", ["alice", "ALICE", "Alice"])
def test_an_existing_managed_user_with_a_verified_key_is_idempotent_in_any_case(requested: str) -> None:
    # Given a managed user Alice whose key is verified
    existing = user("Alice", keys=[key(1, created=ago(days=2))], versions=[version(1, "AWSCURRENT")])
    # When the same name is requested in any letter case
    plan = plan_create_user(request(requested), snapshot(existing), NOW, SETTINGS)
    # Then nothing is planned: no second user
    assert plan.actions == []
    assert plan.warnings == []


def test_an_existing_managed_user_without_a_key_gets_only_a_key() -> None:
    # Given a managed user whose create was cut short before its key (still tagged provisioning)
    existing = user("Alice", tags={"provisioning": "true"})
    # When it is requested again
    plan = plan_create_user(request("alice"), snapshot(existing), NOW, SETTINGS)
    # Then only its key is created, under the existing name
    assert steps(plan) == [("Alice", "create_key", None)]


def test_an_existing_managed_user_with_a_pending_key_gets_only_its_verification() -> None:
    existing = user("alice", keys=[key(1, created=ago(seconds=30))], versions=[version(1, "AWSCURRENT", "AWSPENDING")])
    plan = plan_create_user(request("alice"), snapshot(existing), NOW, SETTINGS)
    assert steps(plan) == [("alice", "verify_key", key_id(1))]


def test_an_existing_expired_managed_user_gets_no_key_and_a_warning() -> None:
    existing = user("alice", expires=ago(days=1))
    plan = plan_create_user(request("alice"), snapshot(existing), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["user_expired"]


@pytest.mark.parametrize(
    "existing",
    [
        user("Alice", path="/"),
        user("Alice", path="/admins/"),
        user("Alice", managed_by=None),
        user("Alice", managed_by="another-deployment"),
    ],
    ids=["root-path", "other-path", "in-path-without-tag", "other-deployment"],
)
def test_an_existing_unmanaged_user_is_refused_even_in_another_letter_case(existing: UserState) -> None:
    # Given an unmanaged user Alice / When alice is requested / Then refused, naming the existing user
    with pytest.raises(RequestRefused, match=r"user Alice exists and is not managed by this stack"):
        plan_create_user(request("alice"), snapshot(existing), NOW, SETTINGS)


# --- plan_reconcile -------------------------------------------------------------------------------------------------


def test_reconcile_leaves_a_user_with_a_verified_current_key_alone() -> None:
    healthy = user(keys=[key(1, created=ago(days=5))], versions=[version(1, "AWSCURRENT")])
    plan = plan_reconcile(snapshot(healthy), NOW, SETTINGS)
    assert plan.actions == [] and plan.warnings == []


def test_reconcile_creates_a_key_for_a_managed_user_without_one() -> None:
    plan = plan_reconcile(snapshot(user("alice", tags={"provisioning": "true"})), NOW, SETTINGS)
    assert steps(plan) == [("alice", "create_key", None)]


def test_reconcile_verifies_a_pending_key_and_creates_none() -> None:
    # Given a rotation in flight: a verified current key and a pending new one
    subject = user(
        keys=[key(1, created=ago(days=95)), key(2, created=ago(seconds=40))],
        versions=[version(1, "AWSCURRENT"), version(2, "AWSPENDING")],
    )
    # When reconciled / Then only the pending key is verified
    assert steps(plan_reconcile(snapshot(subject), NOW, SETTINGS)) == [("alice", "verify_key", key_id(2))]


def test_reconcile_reports_an_unstored_key_and_creates_a_stored_one() -> None:
    # Given one key with no secret version (an orphan of a crash, or made by hand)
    subject = user(keys=[key(1, created=ago(days=1))], versions=[])
    # When reconciled
    plan = plan_reconcile(snapshot(subject), NOW, SETTINGS)
    # Then it is reported, not adopted, and a stored key is created beside it
    assert steps(plan) == [("alice", "create_key", None)]
    assert [(w.code, w.access_key_id) for w in plan.warnings] == [("key_without_secret", key_id(1))]


def test_reconcile_with_two_unstored_keys_warns_and_creates_no_third() -> None:
    subject = user(keys=[key(1, created=ago(days=2)), key(2, created=ago(days=1))], versions=[])
    plan = plan_reconcile(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert sorted(codes(plan)) == ["key_without_secret", "key_without_secret", "two_keys_no_secret"]


def test_reconcile_treats_a_secret_scheduled_for_deletion_as_no_secret() -> None:
    subject = user(keys=[key(1, created=ago(days=1))], versions=[version(1, "AWSCURRENT")], secret_deleted=ago(days=1))
    plan = plan_reconcile(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "create_key", None)]
    assert codes(plan) == ["key_without_secret"]


def test_reconcile_creates_a_key_when_the_current_version_names_a_deleted_key() -> None:
    subject = user(keys=[], versions=[version(1, "AWSCURRENT")])
    assert steps(plan_reconcile(snapshot(subject), NOW, SETTINGS)) == [("alice", "create_key", None)]


@pytest.mark.parametrize(
    ("expires", "reconciled"),
    [(ago(seconds=1), False), (NOW, False), (ahead(seconds=1), True)],
    ids=["one-second-before-now", "exactly-now", "one-second-after-now"],
)
def test_reconcile_skips_users_expired_at_or_before_now(expires: datetime, reconciled: bool) -> None:
    plan = plan_reconcile(snapshot(user(expires=expires)), NOW, SETTINGS)
    assert (steps(plan) == [("alice", "create_key", None)]) is reconciled


@pytest.mark.parametrize("tags", [{}, {"expires-at": "next week"}], ids=["missing", "garbled"])
def test_reconcile_reports_a_missing_or_garbled_expiry_and_still_reconciles(tags: dict[str, str]) -> None:
    subject = user(expires=None, tags=tags)
    plan = plan_reconcile(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "create_key", None)]
    assert codes(plan) == ["bad_expires_at"]


def test_reconcile_reports_in_path_users_without_the_tag_and_ignores_other_paths() -> None:
    # Given an in-path user without the tag, one of another deployment, and an admin elsewhere, none with keys
    users = [user("intruder", managed_by=None), user("neighbour", managed_by="other"), user("admin", path="/")]
    # When reconciled
    plan = plan_reconcile(snapshot(*users), NOW, SETTINGS)
    # Then nothing is changed and only the in-path ones are reported
    assert plan.actions == []
    assert [(w.code, w.user_name) for w in plan.warnings] == [
        ("unmanaged_in_path", "intruder"),
        ("unmanaged_in_path", "neighbour"),
    ]


def test_reconcile_orders_actions_by_user_name() -> None:
    plan = plan_reconcile(snapshot(user("carol"), user("Alice"), user("bob")), NOW, SETTINGS)
    assert [a.user_name for a in plan.actions] == ["Alice", "bob", "carol"]


def test_reconcile_uses_the_configured_managed_path() -> None:
    settings = Settings(managed_user_path="/contractors/")
    plan = plan_reconcile(snapshot(user("alice", path="/contractors/"), user("bob", path=PATH)), NOW, settings)
    assert steps(plan) == [("alice", "create_key", None)]
