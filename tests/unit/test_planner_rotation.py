"""plan_rotation: verification first, retiring replaced keys after their graces, rotating old current keys."""

from __future__ import annotations

from datetime import datetime

import pytest

from key_lifecycle.domain.plan import RequestRefused
from key_lifecycle.domain.rotation import plan_rotation
from key_lifecycle.domain.rules import LAST_USE_RECORDING_DELAY
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import UserState
from tests.support.snapshot_builders import (
    NOW,
    PATH,
    SETTINGS,
    ago,
    ahead,
    codes,
    current_since,
    deactivated_at,
    key,
    key_id,
    snapshot,
    steps,
    user,
    version,
)

OLD, NEW = key_id(1), key_id(2)


def single_key_user(
    name: str = "alice", *, age: float, seconds: float = 0, status: str = "Active", tags: dict[str, str] | None = None
) -> UserState:
    created = ago(days=age, seconds=seconds)
    return user(
        name,
        keys=[key(1, created=created, status=status)],
        versions=[version(1, "AWSCURRENT", created=created)],
        tags={**current_since(1, created), **(tags or {})},
    )


def rotated_user(
    *,
    old_status: str = "Active",
    old_created: datetime | None = None,
    old_last_used: datetime | None = None,
    new_created: datetime | None = None,
    cut_over: datetime | None = None,
    tags: dict[str, str] | None = None,
) -> UserState:
    """Key 1 replaced (AWSPREVIOUS) by key 2 (AWSCURRENT since cut_over, default 10 days ago)."""
    new_created = new_created or ago(days=10)
    return user(
        keys=[
            key(1, created=old_created or ago(days=100), status=old_status, last_used=old_last_used),
            key(2, created=new_created),
        ],
        versions=[version(1, "AWSPREVIOUS"), version(2, "AWSCURRENT", created=new_created)],
        tags={**current_since(2, cut_over or new_created), **(tags or {})},
    )


# --- rotating the current key ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds_past_90_days", "rotates"),
    [(-1, False), (0, True), (1, True)],
    ids=["one-second-before", "exactly-at", "one-second-after"],
)
def test_the_current_key_is_rotated_from_exactly_the_rotation_age(seconds_past_90_days: int, rotates: bool) -> None:
    # Given a single verified key around 90 days old
    subject = single_key_user(age=90, seconds=seconds_past_90_days)
    # When rotation is planned
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    # Then a replacement is created from exactly 90 days on, with the age in the reason
    assert (steps(plan) == [("alice", "create_key", None)]) is rotates
    if rotates:
        assert "90 days old (rotate after 90 days)" in plan.actions[0].reason


def test_a_young_key_is_left_alone_without_warnings() -> None:
    plan = plan_rotation(snapshot(single_key_user(age=10)), NOW, SETTINGS)
    assert plan.actions == [] and plan.warnings == []


def test_a_pending_key_is_verified_and_nothing_else_happens_to_that_user() -> None:
    # Given a due rotation already in flight, and an inactive key long past its delete grace
    subject = user(
        keys=[key(1, created=ago(days=200), status="Inactive"), key(2, created=ago(days=95)), key(3, created=NOW)],
        versions=[version(1, "AWSPREVIOUS"), version(2, "AWSCURRENT"), version(3, "AWSPENDING")],
        tags=deactivated_at(1, ago(days=100)),
    )
    # When rotation is planned, even forced
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS, user_name="alice", force=True)
    # Then only the pending key is verified: rotation waits for a verified current key
    assert steps(plan) == [("alice", "verify_key", key_id(3))]


def test_a_user_without_a_verified_current_key_is_left_to_reconcile() -> None:
    # Given only an unverified first version and an inactive replaced key
    subject = user(
        keys=[key(1, created=ago(days=200), status="Inactive")],
        versions=[version(1, "AWSPREVIOUS")],
        tags=deactivated_at(1, ago(days=100)),
    )
    # When rotation is planned / Then nothing happens and it is reported
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["no_current_key"]


def test_an_inactive_current_key_is_reported_and_never_touched() -> None:
    plan = plan_rotation(snapshot(single_key_user(age=150, status="Inactive")), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["current_key_inactive"]


# --- two-key limit --------------------------------------------------------------------------------------------------


def test_an_inactive_key_past_its_delete_grace_is_deleted_before_the_replacement_is_created() -> None:
    # Given a due current key and an inactive replaced key deactivated 7 days ago
    subject = rotated_user(old_status="Inactive", new_created=ago(days=95), tags=deactivated_at(1, ago(days=7)))
    # When rotation is planned
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    # Then the inactive key is deleted once, then the replacement created
    assert steps(plan) == [("alice", "delete_key", OLD), ("alice", "create_key", None)]


def test_rotation_waits_while_the_inactive_key_is_within_its_delete_grace() -> None:
    subject = rotated_user(
        old_status="Inactive", new_created=ago(days=95), tags=deactivated_at(1, ago(days=7, seconds=-1))
    )
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["rotation_waiting_for_delete_grace"]
    assert plan.warnings[0].access_key_id == OLD


def test_with_two_active_keys_neither_is_deleted_and_rotation_is_skipped() -> None:
    # Given a due current key and a replaced key still active and inside its deactivation grace
    subject = rotated_user(new_created=ago(days=95), cut_over=ago(days=3))
    # When rotation is planned
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    # Then nothing is deleted or deactivated, and it is reported
    assert plan.actions == []
    assert codes(plan) == ["two_active_keys"]


def test_a_replaced_key_deactivated_this_run_makes_rotation_wait_for_its_delete_grace() -> None:
    subject = rotated_user(new_created=ago(days=95))
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "deactivate_key", OLD)]
    assert codes(plan) == ["rotation_waiting_for_delete_grace"]


def test_a_key_without_a_stored_secret_blocks_rotation_and_is_not_removed() -> None:
    subject = user(
        keys=[key(1, created=ago(days=95)), key(2, created=ago(days=1))],
        versions=[version(1, "AWSCURRENT")],
    )
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["key_without_secret", "rotation_blocked_by_unstored_key"]


def test_a_key_newer_than_the_current_one_blocks_rotation() -> None:
    # Given the secret was moved back to the older key by hand: the newer key is merely replaced and active
    subject = user(
        keys=[key(1, created=ago(days=95)), key(2, created=ago(days=2))],
        versions=[version(1, "AWSCURRENT"), version(2, "AWSPREVIOUS")],
        tags=current_since(1, ago(days=1)),
    )
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert codes(plan) == ["newer_key_exists"]


@pytest.mark.parametrize(("age", "warned"), [(120, True), (119.99, False)], ids=["at-max-age", "just-under"])
def test_a_current_key_at_the_hard_maximum_that_cannot_rotate_is_reported_but_kept_active(
    age: float, warned: bool
) -> None:
    subject = rotated_user(new_created=ago(days=age), cut_over=ago(days=3))
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == []
    assert ("key_over_max_age" in codes(plan)) is warned


# --- retiring the replaced key --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds_past_grace", "deactivates"),
    [(-1, False), (0, True), (1, True)],
    ids=["one-second-before", "exactly-at", "one-second-after"],
)
def test_an_unused_replaced_key_is_deactivated_from_exactly_the_grace(
    seconds_past_grace: int, deactivates: bool
) -> None:
    subject = rotated_user(cut_over=ago(days=7, seconds=seconds_past_grace))
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert (steps(plan) == [("alice", "deactivate_key", OLD)]) is deactivates
    assert plan.warnings == []


@pytest.mark.parametrize("seconds_before_cut_over", [1, 0], ids=["one-second-before", "exactly-at"])
def test_a_replaced_key_last_used_up_to_the_cut_over_is_deactivated(seconds_before_cut_over: int) -> None:
    # Given the old key's last use was not after the moment its replacement became current
    subject = rotated_user(cut_over=ago(days=8), old_last_used=ago(days=8, seconds=seconds_before_cut_over))
    # When rotation is planned / Then it is deactivated without a postponement
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "deactivate_key", OLD)]
    assert plan.warnings == []


def test_a_replaced_key_used_after_the_cut_over_is_postponed_with_a_warning() -> None:
    # Given the old key was used one second after its replacement became current
    subject = rotated_user(old_created=ago(days=100), cut_over=ago(days=8), old_last_used=ago(days=8, seconds=-1))
    # When rotation is planned
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    # Then it stays active and the postponement is reported against that key
    assert plan.actions == []
    assert [(w.code, w.access_key_id) for w in plan.warnings] == [("deactivation_postponed", OLD)]


@pytest.mark.parametrize(
    ("seconds_past_delay", "deactivates"), [(-1, False), (0, True)], ids=["one-second-before", "exactly-at"]
)
def test_without_a_grace_a_replaced_key_waits_for_aws_to_record_its_use(
    seconds_past_delay: int, deactivates: bool
) -> None:
    # Given no deactivation grace, and a use right after the cut-over that AWS has not recorded yet (the key shows
    # no use): AWS records a use some hours late (LAST_USE_RECORDING_DELAY)
    delay = LAST_USE_RECORDING_DELAY.total_seconds()
    subject = rotated_user(cut_over=ago(seconds=delay + seconds_past_delay), old_last_used=None)
    # When rotation is planned
    plan = plan_rotation(snapshot(subject), NOW, Settings(deactivate_after_days=0))
    # Then the key is judged unused only once that use would show
    assert (steps(plan) == [("alice", "deactivate_key", OLD)]) is deactivates


@pytest.mark.parametrize(("age_seconds_past_max", "capped"), [(-1, False), (0, True), (1, True)])
def test_a_replaced_key_still_in_use_is_deactivated_at_the_hard_maximum_age(
    age_seconds_past_max: int, capped: bool
) -> None:
    # Given a still-used replaced key around the 120-day hard maximum
    subject = rotated_user(
        old_created=ago(days=120, seconds=age_seconds_past_max), cut_over=ago(days=8), old_last_used=ago(days=1)
    )
    # When rotation is planned
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    # Then from exactly the maximum it is deactivated anyway and the owner is warned; before it, postponed
    if capped:
        assert steps(plan) == [("alice", "deactivate_key", OLD)]
        assert codes(plan) == ["hard_cap_deactivated"]
    else:
        assert plan.actions == []
        assert codes(plan) == ["deactivation_postponed"]


def test_the_hard_maximum_does_not_shorten_the_deactivation_grace() -> None:
    subject = rotated_user(old_created=ago(days=200), cut_over=ago(days=1), old_last_used=ago(days=0.5))
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert plan.actions == [] and plan.warnings == []


@pytest.mark.parametrize(
    ("seconds_past_grace", "deletes"),
    [(-1, False), (0, True), (1, True)],
    ids=["one-second-before", "exactly-at", "one-second-after"],
)
def test_an_inactive_key_is_deleted_from_exactly_its_delete_grace(seconds_past_grace: int, deletes: bool) -> None:
    subject = rotated_user(old_status="Inactive", tags=deactivated_at(1, ago(days=7, seconds=seconds_past_grace)))
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert (steps(plan) == [("alice", "delete_key", OLD)]) is deletes


def test_the_delete_grace_counts_from_the_recorded_deactivation_not_from_the_cut_over() -> None:
    # Given a cut-over long ago (postponed deactivation) but a deactivation recorded 2 days ago
    subject = rotated_user(old_status="Inactive", cut_over=ago(days=60), tags=deactivated_at(1, ago(days=2)))
    # When rotation is planned / Then the key is not deleted yet
    assert plan_rotation(snapshot(subject), NOW, SETTINGS).actions == []


def test_an_inactive_key_without_a_recorded_deactivation_is_deactivated_again_to_record_it() -> None:
    subject = rotated_user(old_status="Inactive", cut_over=ago(days=60))
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "deactivate_key", OLD)]
    assert plan.actions[0].reason == "inactive without a recorded deactivation time; recording it"
    assert plan.warnings == []


def test_a_garbled_deactivation_time_is_reported_and_recorded_again_never_a_reason_to_delete() -> None:
    subject = rotated_user(old_status="Inactive", tags={f"deactivated-at:{OLD}": "last tuesday"})
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "deactivate_key", OLD)]
    assert codes(plan) == ["bad_deactivated_at"]


def test_without_a_current_since_tag_the_cut_over_is_the_current_versions_creation() -> None:
    # Given no current-since tag and a current version created 8 days ago (its key 9 days ago)
    subject = user(
        keys=[key(1, created=ago(days=100)), key(2, created=ago(days=9))],
        versions=[version(1, "AWSPREVIOUS"), version(2, "AWSCURRENT", created=ago(days=8))],
    )
    # When planned / Then the grace counts from the version: over after 8 days, not over after 9
    settings_8 = Settings(deactivate_after_days=8)
    assert steps(plan_rotation(snapshot(subject), NOW, settings_8)) == [("alice", "deactivate_key", OLD)]
    settings_9 = Settings(deactivate_after_days=9)
    assert plan_rotation(snapshot(subject), NOW, settings_9).actions == []


def test_without_a_tag_or_version_date_the_cut_over_is_the_current_keys_creation() -> None:
    subject = user(
        keys=[key(1, created=ago(days=100)), key(2, created=ago(days=9))],
        versions=[version(1, "AWSPREVIOUS"), version(2, "AWSCURRENT")],
    )
    assert steps(plan_rotation(snapshot(subject), NOW, Settings(deactivate_after_days=9))) == [
        ("alice", "deactivate_key", OLD)
    ]
    assert plan_rotation(snapshot(subject), NOW, Settings(deactivate_after_days=10)).actions == []


def test_a_garbled_current_since_tag_is_reported_and_the_version_date_used() -> None:
    subject = user(
        keys=[key(1, created=ago(days=100)), key(2, created=ago(days=9))],
        versions=[version(1, "AWSPREVIOUS"), version(2, "AWSCURRENT", created=ago(days=8))],
        tags={f"current-since:{NEW}": "soon"},
    )
    plan = plan_rotation(snapshot(subject), NOW, SETTINGS)
    assert steps(plan) == [("alice", "deactivate_key", OLD)]
    assert codes(plan) == ["bad_current_since"]


# --- force, one user, refusals --------------------------------------------------------------------------------------


def test_force_rotates_a_young_key_of_the_named_user_only() -> None:
    # Given two young users
    users = [single_key_user("alice", age=1), single_key_user("bob", age=1)]
    # When alice is force-rotated (name in another case)
    plan = plan_rotation(snapshot(*users), NOW, SETTINGS, user_name="ALICE", force=True)
    # Then only alice gets a new key, and the reason says it was forced
    assert steps(plan) == [("alice", "create_key", None)]
    assert plan.actions[0].reason.startswith("forced rotation requested")


def test_force_still_never_deletes_either_of_two_active_keys() -> None:
    plan = plan_rotation(snapshot(rotated_user(cut_over=ago(days=1))), NOW, SETTINGS, user_name="alice", force=True)
    assert plan.actions == []
    assert codes(plan) == ["two_active_keys"]


def test_a_named_user_without_force_follows_the_normal_rules() -> None:
    users = [single_key_user("alice", age=10), single_key_user("bob", age=100)]
    assert plan_rotation(snapshot(*users), NOW, SETTINGS, user_name="alice").actions == []
    assert steps(plan_rotation(snapshot(*users), NOW, SETTINGS, user_name="bob")) == [("bob", "create_key", None)]


def test_force_without_a_user_name_is_refused() -> None:
    with pytest.raises(RequestRefused, match="force needs user_name"):
        plan_rotation(snapshot(single_key_user(age=1)), NOW, SETTINGS, force=True)


@pytest.mark.parametrize(
    ("subject", "message"),
    [
        (single_key_user("bob", age=1), "user alice does not exist"),
        (user("alice", managed_by=None), "user alice is not managed by this stack"),
        (user("alice", path="/admins/"), "user alice is not managed by this stack"),
        (single_key_user("alice", age=100, tags={"expires-at": "2025-05-01"}), "user alice expired at 2025-05-01"),
    ],
    ids=["unknown", "in-path-untagged", "other-path", "expired"],
)
def test_a_named_user_that_is_unknown_unmanaged_or_expired_is_refused(subject: UserState, message: str) -> None:
    with pytest.raises(RequestRefused, match=message):
        plan_rotation(snapshot(subject), NOW, SETTINGS, user_name="alice", force=True)


# --- the scheduled run over every user ------------------------------------------------------------------------------


def test_the_schedule_skips_expired_and_unmanaged_users_and_reports_bad_expiries_and_intruders() -> None:
    users = [
        single_key_user("expired", age=100, tags={"expires-at": "2025-05-31T12:00:00Z"}),
        single_key_user("garbled", age=100, tags={"expires-at": "someday"}),
        user("intruder", managed_by=None, keys=[key(9, created=ago(days=300))]),
        user("admin", path="/", keys=[key(8, created=ago(days=300))]),
        single_key_user("due", age=100),
    ]
    plan = plan_rotation(snapshot(*users), NOW, SETTINGS)
    assert steps(plan) == [("due", "create_key", None), ("garbled", "create_key", None)]
    assert [(w.code, w.user_name) for w in plan.warnings] == [
        ("bad_expires_at", "garbled"),
        ("unmanaged_in_path", "intruder"),
    ]


def test_settings_drive_the_thresholds() -> None:
    settings = Settings(rotate_after_days=30, max_key_age_days=40)
    assert steps(plan_rotation(snapshot(single_key_user(age=30)), NOW, settings)) == [("alice", "create_key", None)]


BOUNDARY = "arn:aws:iam::123456789012:policy/iam-key-lifecycle/TemporaryUserBoundary"


def test_a_tagged_user_without_the_stacks_boundary_is_never_given_a_key() -> None:
    # Given the deployed settings (a boundary), three users tagged managed-by whose keys are due for rotation: one
    # made by hand (no boundary), one on a sub-path IAM's `user/temporary/*` also covers, and one of the stack's
    settings = Settings(permissions_boundary_arn=BOUNDARY)
    handmade = single_key_user("handmade", age=100)
    below = single_key_user("admin", age=100).model_copy(
        update={"path": f"{PATH}admins/", "permissions_boundary_arn": BOUNDARY}
    )
    ours = single_key_user("alice", age=100).model_copy(update={"permissions_boundary_arn": BOUNDARY})
    # When the rotation plans
    plan = plan_rotation(snapshot(handmade, below, ours), NOW, settings)
    # Then only the user carrying the boundary gets a new key; the other two are reported, never changed
    assert steps(plan) == [("alice", "create_key", None)]
    warnings = {w.user_name: w.message for w in plan.warnings if w.code == "unmanaged_in_path"}
    assert set(warnings) == {"handmade", "admin"}
    assert "permissions boundary" in warnings["handmade"]
    assert "below" in warnings["admin"]


@pytest.mark.parametrize(
    ("expires_in_days", "force", "rotated"),
    [
        (3, False, False),  # deleted at expiry before the replaced key's 7-day grace would end: no new key
        (7, False, False),  # at the end of the grace exactly: still none
        (8, False, True),  # the new key outlives the grace: rotated
        (3, True, True),  # a forced rotation is the operator's call
    ],
)
def test_a_user_expiring_within_the_deactivation_grace_gets_no_new_key(
    expires_in_days: int, force: bool, rotated: bool
) -> None:
    # Given a key past its rotation age on a user that expires soon
    created = ago(days=SETTINGS.rotate_after_days + 1)
    alice = user(
        keys=[key(1, created=created)],
        versions=[version(1, "AWSCURRENT", created=created)],
        tags=current_since(1, created),
        expires=ahead(days=expires_in_days),
    )
    # When rotation plans
    plan = plan_rotation(snapshot(alice), NOW, SETTINGS, user_name="alice" if force else None, force=force)
    # Then a new key is made only when the user lives past the grace the old key would get
    assert (("alice", "create_key", None) in steps(plan)) is rotated
    assert codes(plan) == []
