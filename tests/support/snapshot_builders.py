"""Small builders for account snapshots, so each planner test states only what matters to it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from key_lifecycle.models.constants import (
    CURRENT_SINCE_TAG_PREFIX,
    DEACTIVATED_AT_TAG_PREFIX,
    EXPIRES_AT_TAG,
    MANAGED_BY_TAG,
)
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.report import Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, SecretState, SecretVersionState, UserState

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
SETTINGS = Settings()  # rotate 90, deactivate 7, delete 7, max key age 120, stale 90 days
PATH = SETTINGS.managed_user_path
_UNSET = object()


def ago(days: float = 0, seconds: float = 0) -> datetime:
    return NOW - timedelta(days=days, seconds=seconds)


def ahead(days: float = 0, seconds: float = 0) -> datetime:
    return NOW + timedelta(days=days, seconds=seconds)


def iso(value: datetime) -> str:
    return format_timestamp(value)


def key_id(n: int) -> str:
    return f"AKIA{n:016d}"


def key(n: int, *, created: datetime, status: str = "Active", last_used: datetime | None = None) -> AccessKeyState:
    return AccessKeyState(access_key_id=key_id(n), status=status, create_date=created, last_used_date=last_used)


def version(n: int, *stages: str, created: datetime | None = None) -> SecretVersionState:
    return SecretVersionState(version_id=f"{key_id(n)}-{n:032x}", stages=stages, created_date=created)


def current_since(n: int, when: datetime) -> dict[str, str]:
    return {CURRENT_SINCE_TAG_PREFIX + key_id(n): iso(when)}


def deactivated_at(n: int, when: datetime) -> dict[str, str]:
    return {DEACTIVATED_AT_TAG_PREFIX + key_id(n): iso(when)}


def user(
    name: str = "alice",
    *,
    keys: Iterable[AccessKeyState] = (),
    versions: Iterable[SecretVersionState] = (),
    tags: dict[str, str] | None = None,
    path: str = PATH,
    managed_by: str | None = SETTINGS.managed_by_tag_value,
    created: datetime | None = None,
    expires: datetime | object | None = _UNSET,
    secret: bool = True,
    secret_deleted: datetime | None = None,
) -> UserState:
    """A managed user (unless path/managed_by say otherwise) created 30 days ago, expiring in 30 days."""
    all_tags: dict[str, str] = {}
    if managed_by is not None:
        all_tags[MANAGED_BY_TAG] = managed_by
    expiry = ahead(days=30) if expires is _UNSET else expires
    if isinstance(expiry, datetime):
        all_tags[EXPIRES_AT_TAG] = iso(expiry)
    all_tags.update(tags or {})
    versions = tuple(versions)
    return UserState(
        user_name=name,
        user_id=f"AIDA{name.upper()}",
        arn=f"arn:aws:iam::123456789012:user{path}{name}",
        path=path,
        create_date=created or ago(days=30),
        tags=all_tags,
        keys=tuple(keys),
        secret=SecretState(
            name=f"{SETTINGS.secret_prefix}{name}",
            arn=f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{SETTINGS.secret_prefix}{name}-AbCdEf",
            versions=versions,
            deleted_date=secret_deleted,
        )
        if secret
        else None,
    )


def snapshot(*users: UserState) -> AccountSnapshot:
    return AccountSnapshot(users=users)


def steps(plan: Plan) -> list[tuple[str, str, str | None]]:
    """The plan as (user, action, key) triples, the shape most assertions compare."""
    return [(a.user_name, a.action.value, a.access_key_id) for a in plan.actions]


def codes(plan: Plan) -> list[str]:
    return [w.code for w in plan.warnings]
