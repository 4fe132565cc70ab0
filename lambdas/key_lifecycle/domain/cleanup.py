"""The cleanup function's planner: which managed users are deleted (expired, unused for too long, or a deletion cut
short) with their secrets. Pure logic (no AWS calls)."""

from __future__ import annotations

from datetime import datetime, timedelta

from key_lifecycle.domain.crash import deletion_started
from key_lifecycle.domain.plan import PlanBuilder, managed_users, refuse_unknown_or_unmanaged, tagged_expiry
from key_lifecycle.domain.rules import last_key_use
from key_lifecycle.models.constants import EXEMPT_UNTIL_TAG, WarningCode
from key_lifecycle.models.dates import as_utc, format_timestamp, parse_timestamp
from key_lifecycle.models.report import ActionKind, Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, UserState


def plan_cleanup(snapshot: AccountSnapshot, now: datetime, settings: Settings, *, user_name: str | None = None) -> Plan:
    """The cleanup function: delete stale managed users (expired, or unused for too long) and their secrets."""
    now = as_utc(now)
    b = PlanBuilder()
    if user_name is not None:
        user = refuse_unknown_or_unmanaged(snapshot, user_name, settings)
        _delete_user(user, "requested", settings, b)
        return b.plan()

    for user in managed_users(snapshot, settings, b):
        started = deletion_started(user)
        # A deletion cut short is finished whatever the user's dates say: its keys may already be gone.
        reason = f"resuming a deletion started at {started}" if started else _stale_reason(user, now, settings, b)
        if reason is not None:
            _delete_user(user, reason, settings, b)
    return b.plan()


def _stale_reason(user: UserState, now: datetime, settings: Settings, b: PlanBuilder) -> str | None:
    """Why the user is deleted now (expired, or no key used for stale_after_days), or None while it is exempt."""
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

    expires = tagged_expiry(user, b)
    if expires is not None and expires <= now:
        return f"expired at {format_timestamp(expires)}"

    threshold = now - timedelta(days=settings.stale_after_days)
    last_used = last_key_use(user)
    if (last_used is None or last_used <= threshold) and as_utc(user.create_date) <= threshold:
        since = f"last used {format_timestamp(last_used)}" if last_used is not None else "never used"
        return f"no key used for {settings.stale_after_days} days ({since})"
    return None


def _delete_user(user: UserState, reason: str, settings: Settings, b: PlanBuilder) -> None:
    b.act(user.user_name, ActionKind.DELETE_USER, reason)
    if user.secret is not None and user.secret.deleted_date is None:
        b.act(
            user.user_name,
            ActionKind.DELETE_SECRET,
            f"secret of the deleted user ({reason}); recoverable for {settings.secret_recovery_days} days",
        )
