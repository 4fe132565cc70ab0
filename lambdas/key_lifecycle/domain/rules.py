"""Which users the stack manages, the role each access key of a managed user plays (from its secret's stages), and
the dates every planner reads the same way (a key's cut-over, a user's last key use)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from key_lifecycle.models.constants import CURRENT_SINCE_TAG_PREFIX, MANAGED_BY_TAG, STAGE_CURRENT, STAGE_PENDING
from key_lifecycle.models.dates import as_utc, parse_timestamp
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, SecretVersionState, UserState

# AWS records a key's use in GetAccessKeyLastUsed and the credential report some hours after the call, not at once
# ("Recent activity usually appears within four hours", IAM API reference; the local account models 4 hours).
# A replaced key is never judged unused sooner than this after its cut-over.
LAST_USE_RECORDING_DELAY = timedelta(hours=4)


def may_leave_group(group: dict[str, str], settings: Settings) -> bool:
    """Whether cleanup may take a user out of this group (ListGroupsForUser's entry): the stack's own group, or one
    at or below removable_group_path. Without a configured group (the engine alone) every group is."""
    if settings.temporary_user_group is None:
        return True
    if group["GroupName"].lower() == settings.temporary_user_group.lower():
        return True
    return settings.removable_group_path is not None and group.get("Path", "/").startswith(
        settings.removable_group_path
    )


def why_unmanaged(user: UserState, settings: Settings) -> str:
    """Why a user at or below the managed path is not managed, for the warning."""
    if user.path != settings.managed_user_path:
        return f"its path {user.path} is below {settings.managed_user_path}; the stack manages only the path itself"
    tag = user.tags.get(MANAGED_BY_TAG)
    if tag != settings.managed_by_tag_value:
        return f"its tag {MANAGED_BY_TAG} is {tag!r}, not {settings.managed_by_tag_value!r}"
    return (
        f"it is tagged {MANAGED_BY_TAG}={settings.managed_by_tag_value} but does not carry the stack's permissions "
        f"boundary (it has {user.permissions_boundary_arn or 'none'}): the stack did not create it; check who tagged it"
    )


def _key_order(key: AccessKeyState) -> tuple[object, str]:
    return (key.create_date, key.access_key_id)


@dataclass(frozen=True)
class KeyRoles:
    """The keys of one managed user by role. Every key of the user is in exactly one of the four groups."""

    current: AccessKeyState | None = None  # verified: its version is AWSCURRENT and not AWSPENDING
    current_version: SecretVersionState | None = None
    pending: tuple[AccessKeyState, ...] = ()  # version labelled AWSPENDING (maybe also AWSCURRENT, a first version)
    replaced: tuple[AccessKeyState, ...] = ()  # stored, neither current nor pending (AWSPREVIOUS or unlabelled)
    unstored: tuple[AccessKeyState, ...] = ()  # no secret version at all: never adopted, never used as current
    stages: dict[str, frozenset[str]] = field(default_factory=dict)  # access key id -> stages of its versions


def classify_keys(user: UserState) -> KeyRoles:
    """Sort a user's keys into roles from the secret's version stages, without reading any secret value.

    A secret scheduled for deletion counts as no secret: its versions cannot be read, so no key is stored there.
    """
    secret = user.secret if user.secret is not None and user.secret.deleted_date is None else None
    stages: dict[str, set[str]] = {}
    versions: dict[str, list[SecretVersionState]] = {}
    if secret is not None:
        for version in secret.versions:
            akid = version.access_key_id
            if akid is None:
                continue
            stages.setdefault(akid, set()).update(version.stages)
            versions.setdefault(akid, []).append(version)

    current: AccessKeyState | None = None
    current_version: SecretVersionState | None = None
    pending: list[AccessKeyState] = []
    replaced: list[AccessKeyState] = []
    unstored: list[AccessKeyState] = []
    for key in sorted(user.keys, key=_key_order):
        key_stages = stages.get(key.access_key_id)
        if key_stages is None:
            unstored.append(key)
        elif STAGE_PENDING in key_stages:
            # Secrets Manager labels a secret's first version AWSCURRENT by itself, so AWSCURRENT alone does not
            # prove the key was verified; only the promotion (which removes AWSPENDING) does.
            pending.append(key)
        elif STAGE_CURRENT in key_stages and current is None:
            current = key
            current_version = next(v for v in versions[key.access_key_id] if STAGE_CURRENT in v.stages)
        else:
            replaced.append(key)
    return KeyRoles(
        current=current,
        current_version=current_version,
        pending=tuple(pending),
        replaced=tuple(replaced),
        unstored=tuple(unstored),
        stages={akid: frozenset(s) for akid, s in stages.items()},
    )


def cut_over(user: UserState, current: AccessKeyState, roles: KeyRoles) -> datetime:
    """When the current key's version became AWSCURRENT: the recorded tag, else the version's or the key's creation.

    A garbled tag counts as none here; the rotation planner reports it.
    """
    recorded = parse_timestamp(user.tags.get(CURRENT_SINCE_TAG_PREFIX + current.access_key_id))
    if recorded is not None:
        return recorded
    if roles.current_version is not None and roles.current_version.created_date is not None:
        return as_utc(roles.current_version.created_date)
    return as_utc(current.create_date)


def last_key_use(user: UserState) -> datetime | None:
    """The latest use of any of the user's keys (what staleness is measured from); None when none was ever used."""
    return max((as_utc(key.last_used_date) for key in user.keys if key.last_used_date is not None), default=None)
