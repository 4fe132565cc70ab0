"""The rotate function's planner: verify pending keys, retire replaced keys after their graces, rotate old current
keys. Pure logic (no AWS calls); one user's rotation is the steps below, in order."""

from __future__ import annotations

from datetime import datetime, timedelta

from key_lifecycle.domain.crash import deletion_started
from key_lifecycle.domain.plan import (
    PlanBuilder,
    RequestRefused,
    live_managed_users,
    recover_unstored,
    refuse_unknown_or_unmanaged,
    tagged_expiry,
)
from key_lifecycle.domain.rules import LAST_USE_RECORDING_DELAY, KeyRoles, classify_keys, cut_over
from key_lifecycle.models.constants import (
    CURRENT_SINCE_TAG_PREFIX,
    DEACTIVATED_AT_TAG_PREFIX,
    EXPIRES_AT_TAG,
    KeyStatus,
    WarningCode,
)
from key_lifecycle.models.dates import as_utc, format_timestamp, parse_timestamp, whole_days
from key_lifecycle.models.report import ActionKind, Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, UserState

# What holds the second key slot and so keeps a new key from being created: the warning, why, and the key.
Blocker = tuple[WarningCode, str, AccessKeyState]


def plan_rotation(
    snapshot: AccountSnapshot,
    now: datetime,
    settings: Settings,
    *,
    user_name: str | None = None,
    force: bool = False,
) -> Plan:
    """The rotate function: verify pending keys, retire replaced keys after their graces, rotate old current keys."""
    now = as_utc(now)
    b = PlanBuilder()
    if force and user_name is None:
        raise RequestRefused("force needs user_name: a forced rotation is for one named user")
    if user_name is not None:
        user = refuse_unknown_or_unmanaged(snapshot, user_name, settings)
        expires = tagged_expiry(user, b)
        if expires is not None and expires <= now:
            raise RequestRefused(
                f"user {user.user_name} expired at {format_timestamp(expires)}; expired users are not rotated"
            )
        if deletion_started(user) is not None:
            raise RequestRefused(f"user {user.user_name} is being deleted; cleanup finishes the deletion")
        _rotate_user(user, now, settings, force, b)
        return b.plan()

    for user in live_managed_users(snapshot, now, settings, b):
        _rotate_user(user, now, settings, False, b)
    return b.plan()


def _rotate_user(user: UserState, now: datetime, settings: Settings, force: bool, b: PlanBuilder) -> None:
    """One user's rotation: the steps below in order; a step that finds the rest unsafe ends it."""
    roles = classify_keys(user)
    orphans, in_flight = recover_unstored(user, roles, now, b)
    if in_flight or _finish_rotation_in_flight(user, roles, b):
        return
    current = _verified_current_key(user, roles, b)
    if current is None:
        return
    replaced_on = _cut_over_date(user, current, roles, b)
    deleted = orphans | _retire_inactive_replaced_keys(user, roles, now, settings, b)
    deactivating = _deactivate_replaced_keys(user, roles, replaced_on, now, settings, b)
    if not _rotation_due(user, current, now, settings, force, b):
        return
    blocker = _blocker_to_a_new_key(user, current, roles, deleted, deactivating, settings)
    if blocker is not None:
        _wait_for_the_slot(user, current, blocker, now, settings, b)
        return
    _new_key(user, current, now, settings, force, b)


def _age(key: AccessKeyState, now: datetime) -> timedelta:
    return now - as_utc(key.create_date)


def _finish_rotation_in_flight(user: UserState, roles: KeyRoles, b: PlanBuilder) -> bool:
    """A rotation in flight is finished before anything else, so no key is retired until its replacement works.
    True when there is one (its pending keys are verified and nothing else is done)."""
    for key in roles.pending:
        b.act(
            user.user_name, ActionKind.VERIFY_KEY, "key stored as AWSPENDING is not verified yet; rotation waits", key
        )
    return bool(roles.pending)


def _verified_current_key(user: UserState, roles: KeyRoles, b: PlanBuilder) -> AccessKeyState | None:
    """The verified current key, or None (warned): without one nothing is safe to retire, since a replaced key may
    be the only way back."""
    if roles.current is None:
        b.warn(
            user.user_name,
            WarningCode.NO_CURRENT_KEY,
            "user has no verified current key; rotation skipped (reconcile creates one)",
        )
    return roles.current


def _cut_over_date(user: UserState, current: AccessKeyState, roles: KeyRoles, b: PlanBuilder) -> datetime:
    """When the current key's version became AWSCURRENT, the date every replaced key's grace counts from. A garbled
    recorded date is reported, and the secret version's creation time is used instead."""
    tag = CURRENT_SINCE_TAG_PREFIX + current.access_key_id
    raw = user.tags.get(tag)
    if raw is not None and parse_timestamp(raw) is None:
        b.warn(
            user.user_name,
            WarningCode.BAD_CURRENT_SINCE,
            f"tag {tag} {raw!r} is not an ISO-8601 date; the secret version's creation time is used instead",
            current,
        )
    return cut_over(user, current, roles)


def _retire_inactive_replaced_keys(
    user: UserState, roles: KeyRoles, now: datetime, settings: Settings, b: PlanBuilder
) -> set[str]:
    """Inactive replaced keys: a missing deactivation time is recorded, a key is deleted once its delete grace is
    over. Returns the ids of the keys deleted."""
    name = user.user_name
    delete_grace = timedelta(days=settings.delete_after_days)
    deleted: set[str] = set()
    for key in roles.replaced:
        if key.status == KeyStatus.ACTIVE:
            continue
        tag = DEACTIVATED_AT_TAG_PREFIX + key.access_key_id
        raw = user.tags.get(tag)
        deactivated_at = parse_timestamp(raw)
        if deactivated_at is None:
            if raw is not None:
                b.warn(name, WarningCode.BAD_DEACTIVATED_AT, f"tag {tag} {raw!r} is not an ISO-8601 date", key)
            # Deactivated by hand or by a run cut short before the tag was written: the delete grace starts now,
            # never earlier, so a key is not deleted on a guess of when it stopped working.
            b.act(name, ActionKind.DEACTIVATE_KEY, "inactive without a recorded deactivation time; recording it", key)
        elif now >= deactivated_at + delete_grace:
            b.act(
                name,
                ActionKind.DELETE_KEY,
                f"inactive since {format_timestamp(deactivated_at)} ({whole_days(deactivated_at, now)} days; "
                f"deleted after {settings.delete_after_days} days)",
                key,
            )
            deleted.add(key.access_key_id)
    return deleted


def _deactivate_replaced_keys(
    user: UserState, roles: KeyRoles, replaced_on: datetime, now: datetime, settings: Settings, b: PlanBuilder
) -> set[str]:
    """Active replaced keys are deactivated once the grace after the cut-over (`replaced_on`) is over and they were not
    used since; a key still in use waits for the hard cap. Returns the ids of the keys deactivated."""
    # Never sooner than AWS needs to record a use: a use right after the cut-over is then seen before any decision.
    deactivate_grace = max(timedelta(days=settings.deactivate_after_days), LAST_USE_RECORDING_DELAY)
    deactivating: set[str] = set()
    for key in roles.replaced:
        if key.status != KeyStatus.ACTIVE or now < replaced_on + deactivate_grace:
            continue
        last_used = as_utc(key.last_used_date) if key.last_used_date is not None else None
        if last_used is not None and last_used > replaced_on:
            if not _hard_cap(user, key, last_used, replaced_on, now, settings, b):
                continue
        else:
            b.act(
                user.user_name,
                ActionKind.DEACTIVATE_KEY,
                f"replaced on {format_timestamp(replaced_on)} ({whole_days(replaced_on, now)} days ago, grace "
                f"{settings.deactivate_after_days} days) and not used since",
                key,
            )
        deactivating.add(key.access_key_id)
    return deactivating


def _hard_cap(
    user: UserState,
    key: AccessKeyState,
    last_used: datetime,
    replaced_on: datetime,
    now: datetime,
    settings: Settings,
    b: PlanBuilder,
) -> bool:
    """A replaced key still used after the cut-over: its deactivation is postponed (warned) until it is unused or
    reaches max_key_age_days, then it is deactivated anyway (warned). True when it is deactivated now."""
    age_days = whole_days(key.create_date, now)
    if _age(key, now) < timedelta(days=settings.max_key_age_days):
        b.warn(
            user.user_name,
            WarningCode.DEACTIVATION_POSTPONED,
            f"replaced key was used at {format_timestamp(last_used)}, after its replacement became current on "
            f"{format_timestamp(replaced_on)}; deactivation postponed until it is unused or "
            f"{settings.max_key_age_days} days old (now {age_days})",
            key,
        )
        return False
    b.act(
        user.user_name,
        ActionKind.DEACTIVATE_KEY,
        f"replaced on {format_timestamp(replaced_on)} and still in use, but {age_days} days old "
        f"(hard maximum {settings.max_key_age_days} days)",
        key,
    )
    b.warn(
        user.user_name,
        WarningCode.HARD_CAP_DEACTIVATED,
        f"replaced key was still used at {format_timestamp(last_used)} but reached the hard maximum age of "
        f"{settings.max_key_age_days} days; deactivated anyway, the owner must switch to the current key",
        key,
    )
    return True


def _rotation_due(
    user: UserState, current: AccessKeyState, now: datetime, settings: Settings, force: bool, b: PlanBuilder
) -> bool:
    """Whether the current key is rotated now: it is active (an inactive one is warned about and left alone) and
    old enough, or a rotation was forced."""
    if current.status != KeyStatus.ACTIVE:
        b.warn(
            user.user_name,
            WarningCode.CURRENT_KEY_INACTIVE,
            "the verified current key is inactive (changed outside this stack); it is neither rotated nor removed",
            current,
        )
        return False
    if force:
        return True
    if _age(current, now) < timedelta(days=settings.rotate_after_days):
        return False
    # A user that expires before the replaced key's deactivation grace would end is deleted with its key: a new key
    # would live only days, and its consumers would switch for nothing.
    expires = parse_timestamp(user.tags.get(EXPIRES_AT_TAG))
    return expires is None or expires > now + timedelta(days=settings.deactivate_after_days)


def _blocker_to_a_new_key(
    user: UserState,
    current: AccessKeyState,
    roles: KeyRoles,
    deleted: set[str],
    deactivating: set[str],
    settings: Settings,
) -> Blocker | None:
    """The other key that still holds the second slot after this run's deletions, and why it stays; None when the
    slot is free. IAM allows two keys per user, so a new key needs the slot."""
    for other in user.keys:
        if other.access_key_id == current.access_key_id or other.access_key_id in deleted:
            continue
        if other in roles.unstored:
            return (
                WarningCode.ROTATION_BLOCKED_BY_UNSTORED_KEY,
                "a key without a stored secret takes the second slot",
                other,
            )
        if as_utc(other.create_date) > as_utc(current.create_date):
            return (WarningCode.NEWER_KEY_EXISTS, "a key newer than the current key exists", other)
        if other.status != KeyStatus.ACTIVE or other.access_key_id in deactivating:
            return (
                WarningCode.ROTATION_WAITING_FOR_DELETE_GRACE,
                f"the replaced key is inactive but its delete grace of {settings.delete_after_days} days is not over",
                other,
            )
        # Both keys work: deleting either could cut off a client, so a person decides.
        return (WarningCode.TWO_ACTIVE_KEYS, "both access keys are active; neither is deleted automatically", other)
    return None


def _wait_for_the_slot(
    user: UserState, current: AccessKeyState, blocker: Blocker, now: datetime, settings: Settings, b: PlanBuilder
) -> None:
    """The rotation waits for the blocker (warned); a current key past max_key_age_days is warned about too, and
    stays active because it is the only working key."""
    code, message, other = blocker
    age_days = whole_days(current.create_date, now)
    b.warn(
        user.user_name, code, f"rotation of key {current.access_key_id} ({age_days} days old) waits: {message}", other
    )
    if _age(current, now) >= timedelta(days=settings.max_key_age_days):
        b.warn(
            user.user_name,
            WarningCode.KEY_OVER_MAX_AGE,
            f"current key is {age_days} days old (hard maximum {settings.max_key_age_days} days) and cannot be "
            "rotated yet; it stays active because it is the only working key",
            current,
        )


def _new_key(
    user: UserState, current: AccessKeyState, now: datetime, settings: Settings, force: bool, b: PlanBuilder
) -> None:
    """The new key that replaces the current one, with why (its age, or the forced request)."""
    age_days = whole_days(current.create_date, now)
    reason = (
        f"forced rotation requested (current key {age_days} days old)"
        if force
        else f"current key is {age_days} days old (rotate after {settings.rotate_after_days} days)"
    )
    b.act(user.user_name, ActionKind.CREATE_KEY, reason)
