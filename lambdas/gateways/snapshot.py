"""Reads the account state a run decides from: every user in bulk, keys and secrets of managed users only."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from lifecycle.rules import is_managed
from models.settings import Settings
from models.snapshot import AccessKeyState, AccountSnapshot, SecretState, SecretVersionState, UserState

if TYPE_CHECKING:
    from gateways.aws import Aws


def _user(detail: dict[str, Any]) -> UserState:
    boundary = detail.get("PermissionsBoundary") or {}
    return UserState(
        user_name=detail["UserName"],
        user_id=detail.get("UserId", ""),
        arn=detail["Arn"],
        path=detail.get("Path", "/"),
        create_date=detail["CreateDate"],
        tags={t["Key"]: t["Value"] for t in detail.get("Tags", [])},
        groups=tuple(detail.get("GroupList", [])),
        permissions_boundary_arn=boundary.get("PermissionsBoundaryArn"),
    )


def _seconds(value: datetime | None) -> datetime | None:
    """Last use at the precision of the lifecycle tags (whole seconds), so a use in the same second as a
    cut-over (the verification of the key it replaced) never reads as a use after it."""
    return value.replace(microsecond=0) if value is not None else None


def _secret(entry: dict[str, Any]) -> SecretState:
    return SecretState(
        name=entry["Name"],
        arn=entry["ARN"],
        versions=tuple(
            SecretVersionState(version_id=version_id, stages=tuple(stages))
            for version_id, stages in sorted(entry.get("SecretVersionsToStages", {}).items())
        ),
        deleted_date=entry.get("DeletedDate"),
    )


def read_snapshot(
    aws: Aws, settings: Settings, *, user_name: str | None = None, with_last_used: bool = True
) -> AccountSnapshot:
    """Every user of the account (so a case-variant name is always found); for managed users also their
    keys (with last use unless `with_last_used` is False) and their secret's version stages. With
    `user_name`, keys and secrets are read for that one user only. Unmanaged users cost no call of their own."""
    users = [_user(detail) for detail in aws.iam.user_details()]
    wanted = user_name.lower() if user_name is not None else None
    detailed = [
        user for user in users if is_managed(user, settings) and (wanted is None or user.user_name.lower() == wanted)
    ]
    if not detailed:
        return AccountSnapshot(users=tuple(users))

    prefix = settings.secret_prefix
    # One listing for the run; for one named user, a listing narrowed to its name.
    listing_prefix = prefix + detailed[0].user_name if wanted is not None else prefix
    secrets = {entry["Name"]: _secret(entry) for entry in aws.secrets.list_secrets(listing_prefix)}

    complete: dict[str, UserState] = {}
    for user in detailed:
        keys = []
        for key in aws.iam.list_access_keys(user.user_name):
            akid = key["AccessKeyId"]
            keys.append(
                AccessKeyState(
                    access_key_id=akid,
                    status=key["Status"],
                    create_date=key["CreateDate"],
                    last_used_date=_seconds(aws.iam.access_key_last_used(akid)) if with_last_used else None,
                )
            )
        complete[user.user_name] = user.model_copy(
            update={"keys": tuple(keys), "secret": secrets.get(prefix + user.user_name)}
        )
    return AccountSnapshot(users=tuple(complete.get(user.user_name, user) for user in users))
