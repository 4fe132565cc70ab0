"""Warnings ahead of every deactivation, key deletion and user deletion, each sent once per window (pure logic).

A sent warning is recorded on the user as tag `warned:<event>[:<access key id>]` = `<window>d@<due date>`, so a
daily run warns once when the event enters each window (e.g. 7 and 1 days ahead), never every day in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from key_lifecycle.domain.rules import classify_keys, cut_over, last_key_use
from key_lifecycle.models.constants import (
    DEACTIVATED_AT_TAG_PREFIX,
    EXEMPT_UNTIL_TAG,
    EXPIRES_AT_TAG,
    OWNER_TAG,
    WARNED_TAG_PREFIX,
    KeyStatus,
)
from key_lifecycle.models.dates import as_utc, format_timestamp, parse_timestamp
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, UserState


class UpcomingEvent(StrEnum):
    USER_EXPIRY = "user-expiry"  # deleted by cleanup at its expires-at
    USER_STALE = "user-stale"  # deleted by cleanup once no key was used for stale_after_days
    KEY_DEACTIVATION = "key-deactivation"
    KEY_DELETION = "key-deletion"


DETAIL_TYPES: dict[UpcomingEvent, str] = {
    UpcomingEvent.USER_EXPIRY: "Temporary User Expiring",
    UpcomingEvent.USER_STALE: "Temporary User Deletion Upcoming",
    UpcomingEvent.KEY_DEACTIVATION: "Access Key Deactivation Upcoming",
    UpcomingEvent.KEY_DELETION: "Access Key Deletion Upcoming",
}


@dataclass(frozen=True)
class Upcoming:
    """A lifecycle event the stack will carry out on a user (or one of its keys), and when."""

    user_name: str
    event: UpcomingEvent
    due: datetime
    reason: str
    access_key_id: str | None = None

    @property
    def tag_key(self) -> str:
        # One tag per user for its deletion (expiry and staleness share it: the user goes once), one per key event.
        subject = "user-deletion" if self.event in (UpcomingEvent.USER_EXPIRY, UpcomingEvent.USER_STALE) else self.event
        return WARNED_TAG_PREFIX + subject + (f":{self.access_key_id}" if self.access_key_id else "")


@dataclass(frozen=True, kw_only=True)
class Forewarning(Upcoming):
    """An upcoming event to warn its owner of now. `tag_key`/`tag_value` record it on the user once it is sent."""

    owner: str | None
    window_days: int
    message: str

    @property
    def tag_value(self) -> str:
        return f"{self.window_days}d@{format_timestamp(self.due)}"

    @property
    def detail_type(self) -> str:
        return DETAIL_TYPES[self.event]

    def as_detail(self) -> dict[str, object]:
        return {
            "user_name": self.user_name,
            "owner": self.owner,
            "event": str(self.event),
            "access_key_id": self.access_key_id,
            "due": format_timestamp(self.due),
            "window_days": self.window_days,
            "message": self.message,
        }


@dataclass
class ForewarnPlan:
    warnings: list[Forewarning] = field(default_factory=list)
    # Records of events that have happened, moved or gone: removed so the user's tags do not pile up.
    stale_tags: dict[str, list[str]] = field(default_factory=dict)


def upcoming_events(user: UserState, now: datetime, settings: Settings) -> list[Upcoming]:
    """Every lifecycle event the stack will carry out on this managed user, with the date it becomes due.

    Mirrors the planner's rules (cleanup for users, rotation for replaced keys); a date is "on or after",
    since the rotate and cleanup schedules carry the event out on their first run after it.
    """
    found: list[Upcoming] = []
    name = user.user_name
    exempt_until = parse_timestamp(user.tags.get(EXEMPT_UNTIL_TAG))
    expires = parse_timestamp(user.tags.get(EXPIRES_AT_TAG))
    last_used = last_key_use(user)
    stale_due = max(last_used or as_utc(user.create_date), as_utc(user.create_date)) + timedelta(
        days=settings.stale_after_days
    )
    deletion: Upcoming | None = None
    if expires is not None and expires <= stale_due:
        deletion = Upcoming(name, UpcomingEvent.USER_EXPIRY, expires, f"expires at {format_timestamp(expires)}")
    else:
        since = f"last used {format_timestamp(last_used)}" if last_used is not None else "never used"
        deletion = Upcoming(
            name, UpcomingEvent.USER_STALE, stale_due, f"no key used for {settings.stale_after_days} days ({since})"
        )
    if exempt_until is None or exempt_until <= deletion.due:
        found.append(deletion)

    roles = classify_keys(user)
    current = roles.current
    if current is None or roles.pending:
        return found  # rotation retires nothing while a rotation is in flight or nothing is current
    replaced_on = cut_over(user, current, roles)
    for key in roles.replaced:
        if key.status == KeyStatus.ACTIVE:
            key_used = as_utc(key.last_used_date) if key.last_used_date is not None else None
            if key_used is not None and key_used > replaced_on:
                due = as_utc(key.create_date) + timedelta(days=settings.max_key_age_days)
                reason = (
                    f"replaced on {format_timestamp(replaced_on)} but still used (last {format_timestamp(key_used)}); "
                    f"deactivated at the hard maximum age of {settings.max_key_age_days} days"
                )
            else:
                due = replaced_on + timedelta(days=settings.deactivate_after_days)
                reason = f"replaced on {format_timestamp(replaced_on)} (grace {settings.deactivate_after_days} days)"
            found.append(Upcoming(name, UpcomingEvent.KEY_DEACTIVATION, due, reason, key.access_key_id))
        else:
            deactivated_at = parse_timestamp(user.tags.get(DEACTIVATED_AT_TAG_PREFIX + key.access_key_id))
            if deactivated_at is None:
                continue
            due = deactivated_at + timedelta(days=settings.delete_after_days)
            reason = f"inactive since {format_timestamp(deactivated_at)} (grace {settings.delete_after_days} days)"
            found.append(Upcoming(name, UpcomingEvent.KEY_DELETION, due, reason, key.access_key_id))
    return found


def _window(due: datetime, now: datetime, days: tuple[int, ...]) -> int | None:
    """The narrowest warning window (in days before `due`) that `now` is in; None before the widest or after due."""
    left = due - now
    if left <= timedelta(0):
        return None
    inside = [day for day in days if left <= timedelta(days=day)]
    return min(inside) if inside else None


def _recorded(value: str | None) -> tuple[int, str] | None:
    if not value:
        return None
    window, sep, due = value.partition("@")
    if not sep or not window.endswith("d") or not window[:-1].isdigit():
        return None
    return int(window[:-1]), due


def _message(item: Upcoming, now: datetime, settings: Settings) -> str:
    left = item.due - now
    when = f"in {left.days} days" if left.days >= 1 else f"in {max(1, round(left.total_seconds() / 3600))} hours"
    due = format_timestamp(item.due)
    secret = f"{settings.secret_prefix}{item.user_name}"
    if item.event is UpcomingEvent.USER_EXPIRY:
        return (
            f"temporary user {item.user_name} expires at {due} ({when}); it is then deleted with its access keys "
            f"and secret {secret}. Ask for a new user, or an exempt-until tag, if it is still needed"
        )
    if item.event is UpcomingEvent.USER_STALE:
        return f"temporary user {item.user_name} will be deleted on or after {due} ({when}): {item.reason}"
    if item.event is UpcomingEvent.KEY_DEACTIVATION:
        return (
            f"access key {item.access_key_id} of user {item.user_name} will be deactivated on or after {due} "
            f"({when}): {item.reason}. Switch to the current key stored in secret {secret}"
        )
    return (
        f"access key {item.access_key_id} of user {item.user_name} will be deleted on or after {due} ({when}): "
        f"{item.reason}"
    )


def plan_forewarnings(snapshot: AccountSnapshot, now: datetime, settings: Settings) -> ForewarnPlan:
    """The warnings due now for every managed user, minus those already sent for the same due date and window."""
    now = as_utc(now)
    plan = ForewarnPlan()
    days = settings.forewarn_days
    for user in sorted(snapshot.users, key=lambda u: u.user_name.lower()):
        if not is_managed(user, settings):
            continue
        live: set[str] = set()
        events = upcoming_events(user, now, settings)
        deletion = min(
            (e.due for e in events if e.event in (UpcomingEvent.USER_EXPIRY, UpcomingEvent.USER_STALE)), default=None
        )
        for item in events:
            if item.due <= now:
                continue  # the run that carries it out says so; a warning after the fact helps nobody
            if item.access_key_id is not None and deletion is not None and item.due >= deletion:
                continue  # the user is deleted first, with its keys: the user's own warning says so
            live.add(item.tag_key)
            window = _window(item.due, now, days) if days else None
            if window is None:
                continue
            recorded = _recorded(user.tags.get(item.tag_key))
            if recorded is not None and recorded[1] == format_timestamp(item.due) and recorded[0] <= window:
                continue  # this window (or a narrower one) was already warned of for this same date
            plan.warnings.append(
                Forewarning(
                    item.user_name,
                    item.event,
                    item.due,
                    item.reason,
                    item.access_key_id,
                    owner=user.tags.get(OWNER_TAG),
                    window_days=window,
                    message=_message(item, now, settings),
                )
            )
        stale = sorted(key for key in user.tags if key.startswith(WARNED_TAG_PREFIX) and key not in live)
        if stale:
            plan.stale_tags[user.user_name] = stale
    return plan
