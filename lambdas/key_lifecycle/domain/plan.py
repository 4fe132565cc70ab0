"""What the create, rotate and cleanup planners build their plans from: the plan builder, the refusal of a manual
request, the users a run may work on, and the tag readers and crash-recovery steps they share. Pure logic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from key_lifecycle.domain.crash import deletion_started, split_unstored
from key_lifecycle.domain.rules import KeyRoles, why_unmanaged
from key_lifecycle.models.constants import EXPIRES_AT_TAG, MANAGED_BY_TAG, WarningCode
from key_lifecycle.models.dates import format_timestamp, parse_timestamp
from key_lifecycle.models.managed import is_managed, is_unmanaged_in_path
from key_lifecycle.models.report import Action, ActionKind, Plan, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, UserState


class RequestRefused(Exception):
    """A manual request the stack will not carry out. The message names the user and why; nothing was changed."""


class PlanBuilder:
    """The actions and warnings of one run, in the order they are decided."""

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


def managed_users(snapshot: AccountSnapshot, settings: Settings, b: PlanBuilder) -> Iterator[UserState]:
    """The managed users in name order; a user under the managed path that is not managed is warned about."""
    for user in sorted(snapshot.users, key=lambda user: (user.user_name.lower(), user.user_name)):
        if is_unmanaged_in_path(user, settings):
            b.warn(
                user.user_name,
                WarningCode.UNMANAGED_IN_PATH,
                f"user is under {settings.managed_user_path} but {why_unmanaged(user, settings)}; it is never changed",
            )
        elif is_managed(user, settings):
            yield user


def live_managed_users(
    snapshot: AccountSnapshot, now: datetime, settings: Settings, b: PlanBuilder
) -> Iterator[UserState]:
    """The managed users a schedule may work on, in order: not expired (cleanup's job; a key for an expired user
    would only be deleted again) and not being deleted. In-path users without the tag are warned about."""
    for user in managed_users(snapshot, settings, b):
        expires = tagged_expiry(user, b)
        if expires is not None and expires <= now:
            continue
        if _deletion_in_progress(user, b):
            continue
        yield user


def refuse_unknown_or_unmanaged(snapshot: AccountSnapshot, user_name: str, settings: Settings) -> UserState:
    """The named user of a manual request, refused when it does not exist or is not the stack's."""
    user = snapshot.find(user_name)
    if user is None:
        raise RequestRefused(f"user {user_name} does not exist")
    if not is_managed(user, settings):
        raise RequestRefused(
            f"user {user.user_name} is not managed by this stack "
            f"(path {user.path}, tag {MANAGED_BY_TAG} {user.tags.get(MANAGED_BY_TAG)!r})"
        )
    return user


def tagged_expiry(user: UserState, b: PlanBuilder) -> datetime | None:
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


def _deletion_in_progress(user: UserState, b: PlanBuilder) -> bool:
    started = deletion_started(user)
    if started is not None:
        b.warn(
            user.user_name,
            WarningCode.DELETION_IN_PROGRESS,
            f"a deletion of this user started at {started} was cut short; cleanup finishes it, nothing else is done",
        )
    return started is not None


def recover_unstored(user: UserState, roles: KeyRoles, now: datetime, b: PlanBuilder) -> tuple[set[str], bool]:
    """Keys without a stored secret: orphans of a cut-short run are deleted, a creation still in flight is waited
    for, anything else is reported. Returns the orphans' ids and whether a creation may still be in flight."""
    split = split_unstored(user, roles, now)
    for key in split.foreign:
        b.warn(
            user.user_name,
            WarningCode.KEY_WITHOUT_SECRET,
            f"access key {key.access_key_id} ({key.status}) has no version in the user's secret; "
            "it is reported, not adopted",
            key,
        )
    intent = format_timestamp(split.intent) if split.intent else "?"
    for key in split.in_flight:
        b.warn(
            user.user_name,
            WarningCode.KEY_CREATION_IN_PROGRESS,
            f"access key {key.access_key_id} has no stored secret yet and the run that created it "
            f"(intent {intent}) may still be storing it; nothing is done now",
            key,
        )
    for key in split.orphans:
        b.act(
            user.user_name,
            ActionKind.DELETE_KEY,
            f"orphan: created by a run cut short before its secret was stored (intent recorded "
            f"{intent}); nobody can read it, so it is deleted, never adopted",
            key,
        )
    return {key.access_key_id for key in split.orphans}, bool(split.in_flight)
