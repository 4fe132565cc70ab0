"""Reads the account state a run decides from: in bulk (authorization details, credential report, secret listing)
or per user (to confirm before acting)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from key_lifecycle.models.constants import (
    CURRENT_SINCE_TAG_PREFIX,
    DEACTIVATED_AT_TAG_PREFIX,
    IN_FLIGHT_TAGS,
    STAGE_PENDING,
    KeyStatus,
)
from key_lifecycle.models.credential_report import CredentialReport
from key_lifecycle.models.dates import as_utc, parse_timestamp
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, SecretState, UserState

if TYPE_CHECKING:
    from key_lifecycle.gateways.aws import Aws


def _seconds(value: datetime | None) -> datetime | None:
    """Last use at the precision of the lifecycle tags (whole seconds), so a use in the same second as a
    cut-over (the verification of the key it replaced) never reads as a use after it."""
    return value.replace(microsecond=0) if value is not None else None


def read_snapshot(
    aws: Aws, settings: Settings, *, user_name: str | None = None, with_last_used: bool = True
) -> AccountSnapshot:
    """Every user of the account (so a case-variant name is always found); for managed users also their
    keys (with last use unless `with_last_used` is False) and their secret's version stages. With
    `user_name`, keys and secrets are read for that one user only. Unmanaged users cost no call of their own."""
    users = list(aws.iam.user_details())
    wanted = user_name.lower() if user_name is not None else None
    detailed = [
        user for user in users if is_managed(user, settings) and (wanted is None or user.user_name.lower() == wanted)
    ]
    if not detailed:
        return AccountSnapshot(users=tuple(users))

    prefix = settings.secret_prefix
    # One listing for the run; for one named user, a listing narrowed to its name.
    listing_prefix = prefix + detailed[0].user_name if wanted is not None else prefix
    secrets = {secret.name: secret for secret in aws.secrets.list_secrets(listing_prefix)}

    complete: dict[str, UserState] = {}
    for user in detailed:
        keyed = read_keys(aws, user, with_last_used=with_last_used)
        complete[user.user_name] = keyed.model_copy(update={"secret": secrets.get(prefix + user.user_name)})
    return AccountSnapshot(users=tuple(complete.get(user.user_name, user) for user in users))


# Bulk and per-user reads -------------------------------------------------------------------------------------

# Tags another part of the stack writes while an operation on the user is in flight: such a user is always read
# directly, because the report cannot show what happened after it was made.
# The report and the tags both carry whole seconds.
_CLOCK_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class BulkSnapshot:
    """The account as read in bulk. Keys of `unresolved` users (lower-case names) could not be pinned down from
    the credential report; they carry no keys here and must be read one by one before anything is decided."""

    snapshot: AccountSnapshot
    unresolved: frozenset[str]
    report_generated: datetime | None


def read_bulk_snapshot(
    aws: Aws,
    settings: Settings,
    now: datetime,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BulkSnapshot:
    """Every user from GetAccountAuthorizationDetails (1,000 a call), every key from the credential report (one
    document), every secret's stages from ListSecrets (100 a call). No call per user."""
    users = list(aws.iam.user_details())
    managed = [user for user in users if is_managed(user, settings)]
    if not managed:
        return BulkSnapshot(AccountSnapshot(users=tuple(users)), frozenset(), None)
    prefix = settings.secret_prefix
    secrets = {secret.name: secret for secret in aws.secrets.list_secrets(prefix)}
    report = aws.iam.credential_report(as_utc(now), sleep=sleep, clock=clock)

    unresolved: set[str] = set()
    complete: dict[str, UserState] = {}
    for user in managed:
        secret = secrets.get(prefix + user.user_name)
        keys = keys_from_report(user, secret, report)
        if keys is None:
            unresolved.add(user.user_name.lower())
            keys = ()
        complete[user.user_name] = user.model_copy(update={"keys": keys, "secret": secret})
    return BulkSnapshot(
        snapshot=AccountSnapshot(users=tuple(complete.get(user.user_name, user) for user in users)),
        unresolved=frozenset(unresolved),
        report_generated=report.generated if report is not None else None,
    )


def keys_from_report(
    user: UserState, secret: SecretState | None, report: CredentialReport | None
) -> tuple[AccessKeyState, ...] | None:
    """The user's keys with their ids, when the report's key slots can be matched to ids without doubt.

    The report has no key ids. Ids come from the `current-since:<id>` tags (fresh: read in the same call as the
    user), one per key the stack verified and has not deleted. Slots and ids are paired in creation order: the stack
    creates a key only once the previous one is current, so the key that became current later was created later.
    None (read the user directly) whenever that is not certain: no report row, a different key count, equal creation
    times, a key created after it became current, a secret version still AWSPENDING, or any lifecycle tag written
    after the report was made (the stack changed the user since).
    """
    if report is None:
        return None
    row = report.user_row(user.user_name)
    if row is None or (row.arn and row.arn != user.arn) or as_utc(user.create_date) > report.generated:
        return None
    if any(tag in user.tags for tag in IN_FLIGHT_TAGS):
        return None
    if secret is not None and any(STAGE_PENDING in version.stages for version in secret.versions):
        return None
    became_current: dict[str, datetime] = {}
    for tag, value in user.tags.items():
        for prefix in (CURRENT_SINCE_TAG_PREFIX, DEACTIVATED_AT_TAG_PREFIX):
            if not tag.startswith(prefix):
                continue
            when = parse_timestamp(value)
            if when is None or when > report.generated:
                return None
            if prefix == CURRENT_SINCE_TAG_PREFIX:
                became_current[tag[len(prefix) :]] = when
    stored = {version.access_key_id for version in secret.versions} if secret is not None else set()
    held = row.held_keys
    if len(became_current) != len(held) or not set(became_current) <= stored:
        return None
    ids = sorted(became_current, key=lambda akid: became_current[akid])
    slots = sorted(held, key=lambda slot: slot.last_rotated or report.generated)
    if len({slot.last_rotated for slot in slots}) != len(slots) or len(set(became_current.values())) != len(ids):
        return None
    keys = []
    for akid, slot in zip(ids, slots, strict=True):
        if slot.last_rotated is None or slot.last_rotated > became_current[akid] + _CLOCK_SLACK:
            return None
        keys.append(
            AccessKeyState(
                access_key_id=akid,
                status=KeyStatus.ACTIVE if slot.active else KeyStatus.INACTIVE,
                create_date=slot.last_rotated,
                last_used_date=_seconds(slot.last_used),
            )
        )
    return tuple(keys)


def read_user(aws: Aws, bulk: UserState, *, with_last_used: bool = True) -> UserState | None:
    """One user re-read with per-user calls (GetUser, ListUserTags, ListAccessKeys, GetAccessKeyLastUsed), for
    confirming what bulk data suggested. None if the user is gone. The secret comes from the run's listing."""
    found = aws.iam.get_user(bulk.user_name)
    if found is None:
        return None
    fresh = found.model_copy(
        update={"user_id": found.user_id or bulk.user_id, "groups": bulk.groups, "secret": bulk.secret}
    )
    return read_keys(aws, fresh, with_last_used=with_last_used)


def read_user_now(aws: Aws, settings: Settings, user_name: str) -> UserState | None:
    """One user as it is now, with its keys (no last use) and, if managed, its secret's stages (DescribeSecret);
    None if it does not exist. Nothing more is read about a user the stack does not manage."""
    user = aws.iam.get_user(user_name)
    if user is None or not is_managed(user, settings):
        return user
    keyed = read_keys(aws, user, with_last_used=False)
    return keyed.model_copy(update={"secret": aws.secrets.state(settings.secret_prefix + user.user_name)})


def read_keys(aws: Aws, user: UserState, *, with_last_used: bool = True) -> UserState:
    keys = aws.iam.list_access_keys(user.user_name)
    if with_last_used:
        keys = [
            key.model_copy(update={"last_used_date": _seconds(aws.iam.access_key_last_used(key.access_key_id))})
            for key in keys
        ]
    return user.model_copy(update={"keys": tuple(keys)})
