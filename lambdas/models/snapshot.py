"""A read-only snapshot of the account state the planner decides from: users, their keys, their secrets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MANAGED_BY_TAG = "managed-by"
OWNER_TAG = "owner"
EXPIRES_AT_TAG = "expires-at"
PURPOSE_TAG = "purpose"
EXEMPT_UNTIL_TAG = "exempt-until"
EXEMPT_REASON_TAG = "exempt-reason"
# Durable lifecycle records on the user (IAM keeps neither): when a key's secret version became
# AWSCURRENT, and when the stack deactivated a key. One tag per key, removed with the key.
CURRENT_SINCE_TAG_PREFIX = "current-since:"
DEACTIVATED_AT_TAG_PREFIX = "deactivated-at:"
# Write-ahead records: `pending-key` is written (ISO time) before CreateAccessKey and removed once the new key's
# secret version is stored, so a key left without a secret by a crash is known to be ours and is deleted;
# `deleting` is written before a user's deletion starts, so a cut-short deletion is resumed, never undone.
PENDING_KEY_TAG = "pending-key"
DELETING_TAG = "deleting"

STAGE_CURRENT = "AWSCURRENT"
STAGE_PENDING = "AWSPENDING"
STAGE_PREVIOUS = "AWSPREVIOUS"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AccessKeyState(_Frozen):
    access_key_id: str
    status: str  # "Active" | "Inactive"
    create_date: datetime
    last_used_date: datetime | None = None


class SecretVersionState(_Frozen):
    """One version of a user's secret. Version ids are `<access key id>-<32 hex>`, so the key a
    version holds is known without reading the secret value."""

    version_id: str
    stages: tuple[str, ...] = ()
    created_date: datetime | None = None

    @property
    def access_key_id(self) -> str | None:
        head, sep, _ = self.version_id.partition("-")
        return head if sep and head.startswith(("AKIA", "ASIA")) else None


class SecretState(_Frozen):
    name: str
    arn: str
    versions: tuple[SecretVersionState, ...] = ()
    deleted_date: datetime | None = None  # scheduled for deletion (in its recovery window)

    def version_of(self, access_key_id: str) -> SecretVersionState | None:
        for version in self.versions:
            if version.access_key_id == access_key_id:
                return version
        return None


class UserState(_Frozen):
    user_name: str
    user_id: str = ""
    arn: str
    path: str
    create_date: datetime
    tags: dict[str, str] = Field(default_factory=dict)
    groups: tuple[str, ...] = ()
    keys: tuple[AccessKeyState, ...] = ()
    secret: SecretState | None = None
    permissions_boundary_arn: str | None = None


class AccountSnapshot(_Frozen):
    """Every user of the account (keys and secrets filled in for users under the managed path)."""

    users: tuple[UserState, ...] = ()

    def find(self, user_name: str) -> UserState | None:
        """IAM user names are case-insensitive: `Alice` and `alice` are the same user."""
        wanted = user_name.lower()
        for user in self.users:
            if user.user_name.lower() == wanted:
                return user
        return None
