"""Crash recovery rules: which keys a cut-short run left without a stored secret, and which users are being deleted.

Pure logic over the write-ahead tags the runner writes (`pending-key`, `deleting`); no AWS calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from key_lifecycle.domain.rules import KeyRoles
from key_lifecycle.models.constants import DELETING_TAG, PENDING_KEY_TAG, PROVISIONING_TAG
from key_lifecycle.models.dates import as_utc, parse_timestamp
from key_lifecycle.models.snapshot import AccessKeyState, UserState

# A Lambda invocation lives at most 15 minutes: once that has passed since the intent was written, the run that
# wrote it is over, and a key it created without storing it can only be an orphan. One more minute covers the
# difference between the function's clock and IAM's.
RUN_LIFETIME = timedelta(minutes=15)
CLOCK_SLACK = timedelta(minutes=1)


@dataclass(frozen=True)
class Unstored:
    """The keys of a user without a secret version, split by what the write-ahead record says of them."""

    orphans: tuple[AccessKeyState, ...] = ()  # ours, from a run that is certainly over: delete
    in_flight: tuple[AccessKeyState, ...] = ()  # ours, and the run that created it may still be storing it: wait
    foreign: tuple[AccessKeyState, ...] = ()  # no intent covers it: someone else's, reported only
    intent: datetime | None = field(default=None)


def split_unstored(user: UserState, roles: KeyRoles, now: datetime) -> Unstored:
    """A key is ours only if it was created inside the window of a recorded intent; nothing else is ever deleted."""
    intent = parse_timestamp(user.tags.get(PENDING_KEY_TAG))
    if intent is None or not roles.unstored:
        return Unstored(foreign=roles.unstored, intent=intent)
    start, end = intent - CLOCK_SLACK, intent + RUN_LIFETIME + CLOCK_SLACK
    ours = tuple(key for key in roles.unstored if start <= as_utc(key.create_date) <= end)
    foreign = tuple(key for key in roles.unstored if key not in ours)
    if as_utc(now) < end:
        return Unstored(in_flight=ours, foreign=foreign, intent=intent)
    return Unstored(orphans=ours, foreign=foreign, intent=intent)


def deletion_started(user: UserState) -> str | None:
    """The recorded start of a deletion that has not finished (any value counts: a garbled one is still an intent)."""
    return user.tags.get(DELETING_TAG)


def provisioning_unfinished(user: UserState, roles: KeyRoles) -> AccessKeyState | None:
    """The verified key of a user whose creation was cut short after the verification: only the finishing
    touches (group, provisioning tag) are missing."""
    if user.tags.get(PROVISIONING_TAG) == "true" and roles.current is not None and not roles.pending:
        return roles.current
    return None
