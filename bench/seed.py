"""Seeds moto with many managed users straight through its backend objects (the API would take minutes for
5,000 users): each user as the stack leaves it, with a verified current key, its secret and its lifecycle tags."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal
from uuid import uuid4

from moto.iam.models import AccessKeyLastUsed, IAMBackend, iam_backends
from moto.secretsmanager.models import SecretsManagerBackend, secretsmanager_backends

from key_lifecycle.models.constants import CURRENT_SINCE_TAG_PREFIX, EXPIRES_AT_TAG, MANAGED_BY_TAG, OWNER_TAG
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.settings import Settings

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
Due = Literal["none", "rotate", "cleanup", "reconcile"]


@dataclass
class Seeded:
    managed: list[str] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    due: list[str] = field(default_factory=list)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def backends(account_id: str = ACCOUNT_ID) -> tuple[IAMBackend, SecretsManagerBackend]:
    """moto's IAM and Secrets Manager state of one account (moto keeps each account's state apart)."""
    return iam_backends[account_id]["aws"], secretsmanager_backends[account_id][REGION]


def seed_user(
    name: str,
    settings: Settings,
    now: datetime,
    due: Due = "none",
    *,
    account_id: str = ACCOUNT_ID,
    boundary_arn: str | None = None,
    kms_key_id: str | None = None,
) -> None:
    """One managed user in `account_id`, with the permissions boundary `boundary_arn` and its secret under
    `kms_key_id` (those a member account's spoke provides; moto keeps no user boundary, so it is set as
    `permissions_boundary_arn`, which local_account.emulator.users serves). `due`: what makes it due — an old
    current key (rotate), a past expiry (cleanup), or no key and no secret yet (reconcile)."""
    iam, sm = backends(account_id)
    key_age = timedelta(days=100 if due == "rotate" else 30)
    expires = now - timedelta(days=1) if due == "cleanup" else now + timedelta(days=300)
    tags = {
        MANAGED_BY_TAG: settings.managed_by_tag_value,
        OWNER_TAG: "team@example.com",
        EXPIRES_AT_TAG: format_timestamp(expires),
    }
    created = now - key_age - timedelta(hours=1)
    if due == "reconcile":
        user = iam.create_user(
            REGION, name, settings.managed_user_path, [{"Key": k, "Value": v} for k, v in tags.items()]
        )
        user.create_date = _naive(created)
        user.permissions_boundary_arn = boundary_arn  # type: ignore[attr-defined]
        return
    key_created = now - key_age
    user = iam.create_user(REGION, name, settings.managed_user_path, [])
    user.create_date = _naive(created)
    user.permissions_boundary_arn = boundary_arn  # type: ignore[attr-defined]
    key = iam.create_access_key(name)
    key.create_date = _naive(key_created)
    key.last_used = AccessKeyLastUsed(_naive(now - timedelta(days=1)), "iam", REGION)
    # A whole second after creation, as a real verification takes; the tags are those the runner writes.
    tags[CURRENT_SINCE_TAG_PREFIX + key.access_key_id] = format_timestamp(key_created + timedelta(seconds=2))
    iam.tagger.tag_resource(user.arn, [{"Key": k, "Value": v} for k, v in tags.items()])
    record = {"access_key_id": key.access_key_id, "secret_access_key": key.secret_access_key, "user_name": name}
    sm.create_secret(
        name=settings.secret_prefix + name,
        secret_string=json.dumps(record),
        secret_binary=None,
        description=None,
        tags=[{"Key": MANAGED_BY_TAG, "Value": settings.managed_by_tag_value}],
        kms_key_id=kms_key_id,
        client_request_token=f"{key.access_key_id}-{uuid4().hex}",
        replica_regions=[],
        force_overwrite=False,
    )


def seed_account(
    managed: int,
    unmanaged: int,
    settings: Settings,
    now: datetime,
    *,
    due: Due = "none",
    due_every: int = 20,
    account_id: str = ACCOUNT_ID,
    boundary_arn: str | None = None,
    kms_key_id: str | None = None,
) -> Seeded:
    """`managed` users (every `due_every`-th one due when `due` is set, i.e. 5 % by default) and `unmanaged`
    users outside the managed path, which a run must never touch or pay a call for, in `account_id` (moto's
    default account unless a member account of an organization is meant)."""
    iam, _ = backends(account_id)
    seeded = Seeded()
    for index in range(managed):
        name = f"temp-{index:05d}"
        kind: Due = due if due != "none" and index % due_every == due_every - 1 else "none"
        seed_user(name, settings, now, kind, account_id=account_id, boundary_arn=boundary_arn, kms_key_id=kms_key_id)
        seeded.managed.append(name)
        if kind != "none":
            seeded.due.append(name)
    for index in range(unmanaged):
        name = f"staff-{index:05d}"
        iam.create_user(REGION, name, "/staff/", [{"Key": "team", "Value": "ops"}])
        iam.create_access_key(name)
        seeded.unmanaged.append(name)
    return seeded
