"""The lifecycle planner: from an account snapshot, the clock and the settings to the ordered plan of one run.

Pure logic (no AWS calls): the same plan serves dry runs, real runs, reports and tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

from key_lifecycle.domain.crash import deletion_started, provisioning_unfinished, split_unstored
from key_lifecycle.domain.rules import LAST_USE_RECORDING_DELAY, KeyRoles, classify_keys, why_unmanaged
from key_lifecycle.models.constants import (
    CURRENT_SINCE_TAG_PREFIX,
    DEACTIVATED_AT_TAG_PREFIX,
    EXEMPT_UNTIL_TAG,
    EXPIRES_AT_TAG,
    MANAGED_BY_TAG,
    KeyStatus,
    WarningCode,
)
from key_lifecycle.models.dates import as_utc, format_timestamp, parse_timestamp, whole_days
from key_lifecycle.models.events import CreateUserEvent
from key_lifecycle.models.managed import is_managed, is_unmanaged_in_path
from key_lifecycle.models.report import Action, ActionKind, Plan, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, UserState

__all__ = [
    "KeyRoles",
    "RequestRefused",
    "classify_keys",
    "expiry_for",
    "format_timestamp",
    "is_managed",
    "parse_timestamp",
    "plan_cleanup",
    "plan_create_user",
    "plan_reconcile",
    "plan_rotation",
]

RESERVED_NAMES = frozenset({"root"})


class RequestRefused(Exception):
    """A manual request the stack will not carry out. The message names the user and why; nothing was changed."""


def expiry_for(ttl_days: int | None, now: datetime, settings: Settings) -> datetime:
    """When a user created now expires: ttl_days (default from settings) later, to the second, UTC."""
    days = ttl_days if ttl_days is not None else settings.default_ttl_days
    return as_utc(now).replace(microsecond=0) + timedelta(days=days)


class _Builder:
    def __init__(self) -> None:
        self.actions: list[Action] = []
        self.warnings: list[Warning] = []

    def act(self, user_name: str, kind: ActionKind, reason: str, key: AccessKeyState | None = None) -> None:
        self.actions.append(
            Action(user_name=user_name, action=kind, reason=reason, access_key_id=key.access_key_id if key else None)
        )

    def warn(self, user_name: str | None, code: WarningCode, message: str, key: AccessKeyState | None = None) -> None:
        self.warnings.append(
            Warning(user_name=user_name, code=code, message=message, access_key_id=key.access_key_id if key else None)
        )

    def plan(self) -> Plan:
        return Plan(actions=self.actions, warnings=self.warnings)


def _sorted_users(snapshot: AccountSnapshot) -> list[UserState]:
    return sorted(snapshot.users, key=lambda user: (user.user_name.lower(), user.user_name))


def _iso(value: datetime) -> str:
    return format_timestamp(value)


def _age(key: AccessKeyState, now: datetime) -> timedelta:
    return now - as_utc(key.create_date)


def _warn_unmanaged(user: UserState, settings: Settings, b: _Builder) -> None:
    b.warn(
        user.user_name,
        WarningCode.UNMANAGED_IN_PATH,
        f"user is under {settings.managed_user_path} but {why_unmanaged(user, settings)}; it is never changed",
    )


def _expires_at(user: UserState, b: _Builder) -> datetime | None:
    """The user's expiry, or None (reported) when the tag is missing or garbled: then it never counts as expired."""
    raw = user.tags.get(EXPIRES_AT_TAG)
    expires = parse_timestamp(raw)
    if expires is None:
        problem = "is missing" if raw is None else f"{raw!r} is not an ISO-8601 date"
        b.warn(
            user.user_name,
            WarningCode.BAD_EXPIRES_AT,
            f"tag {EXPIRES_AT_TAG} {problem}; the user is never deleted for expiry until it is fixed",
        )
    return expires


def _warn_unstored(user: UserState, roles: KeyRoles, b: _Builder) -> None:
    for key in roles.unstored:
        b.warn(
            user.user_name,
            WarningCode.KEY_WITHOUT_SECRET,
            f"access key {key.access_key_id} ({key.status}) has no version in the user's secret; "
            "it is reported, not adopted",
            key,
        )


def _recover_unstored(user: UserState, roles: KeyRoles, now: datetime, b: _Builder) -> tuple[set[str], bool]:
    """Keys without a stored secret: orphans of a cut-short run are deleted, a creation still in flight is waited
    for, anything else is reported. Returns the orphans' ids and whether a creation may still be in flight."""
    split = split_unstored(user, roles, now)
    _warn_unstored(user, replace(roles, unstored=split.foreign), b)
    for key in split.in_flight:
        b.warn(
            user.user_name,
            WarningCode.KEY_CREATION_IN_PROGRESS,
            f"access key {key.access_key_id} has no stored secret yet and the run that created it "
            f"(intent {_iso(split.intent) if split.intent else '?'}) may still be storing it; nothing is done now",
            key,
        )
    for key in split.orphans:
        b.act(
            user.user_name,
            ActionKind.DELETE_KEY,
            f"orphan: created by a run cut short before its secret was stored (intent recorded "
            f"{_iso(split.intent) if split.intent else '?'}); nobody can read it, so it is deleted, never adopted",
            key,
        )
    return {key.access_key_id for key in split.orphans}, bool(split.in_flight)


def _deletion_in_progress(user: UserState, b: _Builder) -> bool:
    started = deletion_started(user)
    if started is not None:
        b.warn(
            user.user_name,
            WarningCode.DELETION_IN_PROGRESS,
            f"a deletion of this user started at {started} was cut short; cleanup finishes it, nothing else is done",
        )
    return started is not None


def _reconcile_user(user: UserState, now: datetime, b: _Builder) -> None:
    roles = classify_keys(user)
    orphans, in_flight = _recover_unstored(user, roles, now, b)
    if in_flight:
        return
    for key in roles.pending:
        b.act(user.user_name, ActionKind.VERIFY_KEY, "key stored as AWSPENDING is not verified yet", key)
    unfinished = provisioning_unfinished(user, roles)
    if unfinished is not None:
        b.act(
            user.user_name,
            ActionKind.VERIFY_KEY,
            "the user's creation was cut short after its key was verified; finishing it (group, provisioning tag)",
            unfinished,
        )
    if roles.current is not None or roles.pending:
        return
    if len(user.keys) - len(orphans) >= 2:
        # IAM allows two keys per user; creating a third would fail with LimitExceeded on every run.
        b.warn(
            user.user_name,
            WarningCode.TWO_KEYS_NO_SECRET,
            "user has 2 access keys and none is a verified current key in its secret; no key is created",
        )
        return
    reason = "user has no access key" if not user.keys else "user has no verified current key in its secret"
    b.act(user.user_name, ActionKind.CREATE_KEY, reason)


def plan_create_user(request: CreateUserEvent, snapshot: AccountSnapshot, now: datetime, settings: Settings) -> Plan:
    """The manual create: a new user and its first key, or (idempotent) whatever an existing managed user lacks."""
    now = as_utc(now)
    name = request.user_name
    ttl = request.ttl_days if request.ttl_days is not None else settings.default_ttl_days
    if ttl > settings.max_ttl_days:
        raise RequestRefused(f"user {name}: ttl_days {ttl} exceeds the maximum of {settings.max_ttl_days} days")
    if name.lower() in RESERVED_NAMES:
        raise RequestRefused(f"user {name}: the name is reserved for the account root user")

    b = _Builder()
    existing = snapshot.find(name)
    if existing is not None:
        if not is_managed(existing, settings):
            raise RequestRefused(
                f"user {existing.user_name} exists and is not managed by this stack "
                f"(path {existing.path}, tag {MANAGED_BY_TAG} {existing.tags.get(MANAGED_BY_TAG)!r}); "
                "IAM user names are case-insensitive"
            )
        expires = _expires_at(existing, b)
        if expires is not None and expires <= now:
            b.warn(
                existing.user_name,
                WarningCode.USER_EXPIRED,
                f"user exists and expired at {_iso(expires)}; no key is created, cleanup deletes it",
            )
            return b.plan()
        if deletion_started(existing) is not None:
            raise RequestRefused(f"user {existing.user_name} is being deleted; cleanup finishes the deletion")
        _reconcile_user(existing, now, b)
        return b.plan()

    expires = expiry_for(ttl, now, settings)
    b.act(name, ActionKind.CREATE_USER, f"requested for {request.owner}; expires at {_iso(expires)} ({ttl} days)")
    b.act(name, ActionKind.CREATE_KEY, "first access key of the new user")
    return b.plan()


def plan_reconcile(snapshot: AccountSnapshot, now: datetime, settings: Settings) -> Plan:
    """The create function's schedule: every managed, unexpired user gets exactly one verified current key."""
    now = as_utc(now)
    b = _Builder()
    # A user still tagged provisioning=true without a key was cut short mid-create: creating its key here
    # finishes it (the runner then removes the tag).
    for user in _live_managed_users(snapshot, now, settings, b):
        _reconcile_user(user, now, b)
    return b.plan()


def _live_managed_users(
    snapshot: AccountSnapshot, now: datetime, settings: Settings, b: _Builder
) -> Iterator[UserState]:
    """The managed users a schedule may work on, in order: not expired (cleanup's job; a key for an expired user
    would only be deleted again) and not being deleted. In-path users without the tag are warned about."""
    for user in _sorted_users(snapshot):
        if is_unmanaged_in_path(user, settings):
            _warn_unmanaged(user, settings, b)
            continue
        if not is_managed(user, settings):
            continue
        expires = _expires_at(user, b)
        if expires is not None and expires <= now:
            continue
        if _deletion_in_progress(user, b):
            continue
        yield user


def _refuse_unknown_or_unmanaged(snapshot: AccountSnapshot, user_name: str, settings: Settings) -> UserState:
    user = snapshot.find(user_name)
    if user is None:
        raise RequestRefused(f"user {user_name} does not exist")
    if not is_managed(user, settings):
        raise RequestRefused(
            f"user {user.user_name} is not managed by this stack "
            f"(path {user.path}, tag {MANAGED_BY_TAG} {user.tags.get(MANAGED_BY_TAG)!r})"
        )
    return user


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
    b = _Builder()
    if force and user_name is None:
        raise RequestRefused("force needs user_name: a forced rotation is for one named user")
    if user_name is not None:
        user = _refuse_unknown_or_unmanaged(snapshot, user_name, settings)
        expires = _expires_at(user, b)
        if expires is not None and expires <= now:
            raise RequestRefused(f"user {user.user_name} expired at {_iso(expires)}; expired users are not rotated")
        if deletion_started(user) is not None:
            raise RequestRefused(f"user {user.user_name} is being deleted; cleanup finishes the deletion")
        _rotate_user(user, now, settings, force, b)
        return b.plan()

    for user in _live_managed_users(snapshot, now, settings, b):
        _rotate_user(user, now, settings, False, b)
    return b.plan()


def _cut_over(user: UserState, current: AccessKeyState, roles: KeyRoles, b: _Builder) -> datetime:
    """When the current key's version became AWSCURRENT: the recorded tag, else the version's or the key's creation."""
    tag = CURRENT_SINCE_TAG_PREFIX + current.access_key_id
    raw = user.tags.get(tag)
    recorded = parse_timestamp(raw)
    if recorded is not None:
        return recorded
    if raw is not None:
        b.warn(
            user.user_name,
            WarningCode.BAD_CURRENT_SINCE,
            f"tag {tag} {raw!r} is not an ISO-8601 date; the secret version's creation time is used instead",
            current,
        )
    if roles.current_version is not None and roles.current_version.created_date is not None:
        return as_utc(roles.current_version.created_date)
    return as_utc(current.create_date)


def _rotate_user(user: UserState, now: datetime, settings: Settings, force: bool, b: _Builder) -> None:
    name = user.user_name
    roles = classify_keys(user)
    orphans, in_flight = _recover_unstored(user, roles, now, b)
    if in_flight:
        return

    # 1. A rotation in flight: finish it before anything else, so no key is retired until its replacement works.
    if roles.pending:
        for key in roles.pending:
            b.act(name, ActionKind.VERIFY_KEY, "key stored as AWSPENDING is not verified yet; rotation waits", key)
        return

    current = roles.current
    if current is None:
        # Without a verified current key nothing here is safe to retire: a replaced key may be the only way back.
        b.warn(
            name,
            WarningCode.NO_CURRENT_KEY,
            "user has no verified current key; rotation skipped (reconcile creates one)",
        )
        return
    cut_over = _cut_over(user, current, roles, b)

    # 2. Inactive replaced keys: record a missing deactivation time, delete once the delete grace is over.
    delete_grace = timedelta(days=settings.delete_after_days)
    deleted: set[str] = set(orphans)
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
                f"inactive since {_iso(deactivated_at)} ({whole_days(deactivated_at, now)} days; "
                f"deleted after {settings.delete_after_days} days)",
                key,
            )
            deleted.add(key.access_key_id)

    # 3. Active replaced keys: deactivate after the grace, unless still in use (postponed up to the hard cap).
    # Never sooner than AWS needs to record a use: a use right after the cut-over is then seen before any decision.
    deactivate_grace = max(timedelta(days=settings.deactivate_after_days), LAST_USE_RECORDING_DELAY)
    max_age = timedelta(days=settings.max_key_age_days)
    deactivating: set[str] = set()
    for key in roles.replaced:
        if key.status != KeyStatus.ACTIVE or now < cut_over + deactivate_grace:
            continue
        age_days = whole_days(key.create_date, now)
        last_used = as_utc(key.last_used_date) if key.last_used_date is not None else None
        if last_used is not None and last_used > cut_over:
            if _age(key, now) < max_age:
                b.warn(
                    name,
                    WarningCode.DEACTIVATION_POSTPONED,
                    f"replaced key was used at {_iso(last_used)}, after its replacement became current on "
                    f"{_iso(cut_over)}; deactivation postponed until it is unused or {settings.max_key_age_days} "
                    f"days old (now {age_days})",
                    key,
                )
                continue
            b.act(
                name,
                ActionKind.DEACTIVATE_KEY,
                f"replaced on {_iso(cut_over)} and still in use, but {age_days} days old "
                f"(hard maximum {settings.max_key_age_days} days)",
                key,
            )
            b.warn(
                name,
                WarningCode.HARD_CAP_DEACTIVATED,
                f"replaced key was still used at {_iso(last_used)} but reached the hard maximum age of "
                f"{settings.max_key_age_days} days; deactivated anyway, the owner must switch to the current key",
                key,
            )
        else:
            b.act(
                name,
                ActionKind.DEACTIVATE_KEY,
                f"replaced on {_iso(cut_over)} ({whole_days(cut_over, now)} days ago, grace "
                f"{settings.deactivate_after_days} days) and not used since",
                key,
            )
        deactivating.add(key.access_key_id)

    # 4. Rotate the current key when it is old enough (or on request).
    if current.status != KeyStatus.ACTIVE:
        b.warn(
            name,
            WarningCode.CURRENT_KEY_INACTIVE,
            "the verified current key is inactive (changed outside this stack); it is neither rotated nor removed",
            current,
        )
        return
    age = _age(current, now)
    age_days = whole_days(current.create_date, now)
    if not force and age < timedelta(days=settings.rotate_after_days):
        return

    blocker: tuple[WarningCode, str, AccessKeyState] | None = None
    for other in user.keys:
        if other.access_key_id == current.access_key_id or other.access_key_id in deleted:
            continue
        if other in roles.unstored:
            blocker = (
                WarningCode.ROTATION_BLOCKED_BY_UNSTORED_KEY,
                "a key without a stored secret takes the second slot",
                other,
            )
        elif as_utc(other.create_date) > as_utc(current.create_date):
            blocker = (WarningCode.NEWER_KEY_EXISTS, "a key newer than the current key exists", other)
        elif other.status != KeyStatus.ACTIVE or other.access_key_id in deactivating:
            blocker = (
                WarningCode.ROTATION_WAITING_FOR_DELETE_GRACE,
                f"the replaced key is inactive but its delete grace of {settings.delete_after_days} days is not over",
                other,
            )
        else:
            # Both keys work: deleting either could cut off a client, so a person decides.
            blocker = (
                WarningCode.TWO_ACTIVE_KEYS,
                "both access keys are active; neither is deleted automatically",
                other,
            )
        break

    if blocker is not None:
        code, message, other = blocker
        b.warn(name, code, f"rotation of key {current.access_key_id} ({age_days} days old) waits: {message}", other)
        if age >= max_age:
            b.warn(
                name,
                WarningCode.KEY_OVER_MAX_AGE,
                f"current key is {age_days} days old (hard maximum {settings.max_key_age_days} days) and cannot be "
                "rotated yet; it stays active because it is the only working key",
                current,
            )
        return

    reason = (
        f"forced rotation requested (current key {age_days} days old)"
        if force
        else f"current key is {age_days} days old (rotate after {settings.rotate_after_days} days)"
    )
    b.act(name, ActionKind.CREATE_KEY, reason)


def plan_cleanup(snapshot: AccountSnapshot, now: datetime, settings: Settings, *, user_name: str | None = None) -> Plan:
    """The cleanup function: delete stale managed users (expired, or unused for too long) and their secrets."""
    now = as_utc(now)
    b = _Builder()
    if user_name is not None:
        user = _refuse_unknown_or_unmanaged(snapshot, user_name, settings)
        _delete_user(user, "requested", settings, b)
        return b.plan()

    for user in _sorted_users(snapshot):
        if is_unmanaged_in_path(user, settings):
            _warn_unmanaged(user, settings, b)
            continue
        if not is_managed(user, settings):
            continue
        started = deletion_started(user)
        # A deletion cut short is finished whatever the user's dates say: its keys may already be gone.
        reason = f"resuming a deletion started at {started}" if started else _stale_reason(user, now, settings, b)
        if reason is not None:
            _delete_user(user, reason, settings, b)
    return b.plan()


def _stale_reason(user: UserState, now: datetime, settings: Settings, b: _Builder) -> str | None:
    raw_exempt = user.tags.get(EXEMPT_UNTIL_TAG)
    if raw_exempt is not None:
        exempt_until = parse_timestamp(raw_exempt)
        if exempt_until is None:
            # Someone meant to protect this user: a typo in the date must not delete it.
            b.warn(
                user.user_name,
                WarningCode.BAD_EXEMPT_UNTIL,
                f"tag {EXEMPT_UNTIL_TAG} {raw_exempt!r} is not an ISO-8601 date; the user is kept until it is fixed",
            )
            return None
        if exempt_until > now:
            return None

    expires = _expires_at(user, b)
    if expires is not None and expires <= now:
        return f"expired at {_iso(expires)}"

    threshold = now - timedelta(days=settings.stale_after_days)
    last_used = max((as_utc(k.last_used_date) for k in user.keys if k.last_used_date is not None), default=None)
    if (last_used is None or last_used <= threshold) and as_utc(user.create_date) <= threshold:
        since = f"last used {_iso(last_used)}" if last_used is not None else "never used"
        return f"no key used for {settings.stale_after_days} days ({since})"
    return None


def _delete_user(user: UserState, reason: str, settings: Settings, b: _Builder) -> None:
    b.act(user.user_name, ActionKind.DELETE_USER, reason)
    if user.secret is not None and user.secret.deleted_date is None:
        b.act(
            user.user_name,
            ActionKind.DELETE_SECRET,
            f"secret of the deleted user ({reason}); recoverable for {settings.secret_recovery_days} days",
        )
