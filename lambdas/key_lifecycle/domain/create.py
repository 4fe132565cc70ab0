"""The create function's planner: a manual request for a new user, and the schedule that gives every managed user
exactly one verified current key. Pure logic (no AWS calls)."""

from __future__ import annotations

from datetime import datetime, timedelta

from key_lifecycle.domain.crash import deletion_started, provisioning_unfinished
from key_lifecycle.domain.plan import PlanBuilder, RequestRefused, live_managed_users, recover_unstored, tagged_expiry
from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.models.constants import MANAGED_BY_TAG, WarningCode
from key_lifecycle.models.dates import as_utc, format_timestamp
from key_lifecycle.models.events import CreateUserEvent
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.report import ActionKind, Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, UserState

RESERVED_NAMES = frozenset({"root"})


def expiry_for(ttl_days: int | None, now: datetime, settings: Settings) -> datetime:
    """When a user created now expires: ttl_days (default from settings) later, to the second, UTC."""
    days = ttl_days if ttl_days is not None else settings.default_ttl_days
    return as_utc(now).replace(microsecond=0) + timedelta(days=days)


def plan_create_user(request: CreateUserEvent, snapshot: AccountSnapshot, now: datetime, settings: Settings) -> Plan:
    """The manual create: a new user and its first key, or (idempotent) whatever an existing managed user lacks."""
    now = as_utc(now)
    name = request.user_name
    ttl = request.ttl_days if request.ttl_days is not None else settings.default_ttl_days
    if ttl > settings.max_ttl_days:
        raise RequestRefused(f"user {name}: ttl_days {ttl} exceeds the maximum of {settings.max_ttl_days} days")
    if name.lower() in RESERVED_NAMES:
        raise RequestRefused(f"user {name}: the name is reserved for the account root user")

    b = PlanBuilder()
    existing = snapshot.find(name)
    if existing is not None:
        if not is_managed(existing, settings):
            raise RequestRefused(
                f"user {existing.user_name} exists and is not managed by this stack "
                f"(path {existing.path}, tag {MANAGED_BY_TAG} {existing.tags.get(MANAGED_BY_TAG)!r}); "
                "IAM user names are case-insensitive"
            )
        expires = tagged_expiry(existing, b)
        if expires is not None and expires <= now:
            b.warn(
                existing.user_name,
                WarningCode.USER_EXPIRED,
                f"user exists and expired at {format_timestamp(expires)}; no key is created, cleanup deletes it",
            )
            return b.plan()
        if deletion_started(existing) is not None:
            raise RequestRefused(f"user {existing.user_name} is being deleted; cleanup finishes the deletion")
        _reconcile_user(existing, now, b)
        return b.plan()

    expires = expiry_for(ttl, now, settings)
    b.act(
        name,
        ActionKind.CREATE_USER,
        f"requested for {request.owner}; expires at {format_timestamp(expires)} ({ttl} days)",
    )
    b.act(name, ActionKind.CREATE_KEY, "first access key of the new user")
    return b.plan()


def plan_reconcile(snapshot: AccountSnapshot, now: datetime, settings: Settings) -> Plan:
    """The create function's schedule: every managed, unexpired user gets exactly one verified current key."""
    now = as_utc(now)
    b = PlanBuilder()
    # A user still tagged provisioning=true without a key was cut short mid-create: creating its key here
    # finishes it (the runner then removes the tag).
    for user in live_managed_users(snapshot, now, settings, b):
        _reconcile_user(user, now, b)
    return b.plan()


def _reconcile_user(user: UserState, now: datetime, b: PlanBuilder) -> None:
    roles = classify_keys(user)
    orphans, in_flight = recover_unstored(user, roles, now, b)
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
