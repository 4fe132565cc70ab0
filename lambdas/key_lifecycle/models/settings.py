"""The functions' settings: one Pydantic model, read from the environment once per cold start and validated by the
stack at synth. Each setting has one name: its cdk.json key is the field name, its environment variable the field
name upper-cased (`managed_by_tag_value` → MANAGED_BY_TAG_VALUE)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

USER_PATH_RE = re.compile(r"^/([\x21-\x7e]+/)?$")
# Resource names and ARNs the stack passes; an empty value means the resource is not configured.
_OPTIONAL = (
    "permissions_boundary_arn",
    "temporary_user_group",
    "removable_group_path",
    "notification_topic_arn",
    "secret_kms_key_id",
    "event_bus_name",
    "lock_table_name",
)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names each environment variable and what is wrong with it."""


class Settings(BaseModel):
    """Validated settings. Defaults are the documented ones (README, "Settings"). Strings from the environment are
    converted ("14" → 14, "true" → True); every problem is reported at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    managed_user_path: str = "/temporary/"
    managed_by_tag_value: str = Field(default="iam-key-lifecycle", min_length=1, max_length=256)
    secret_prefix: str = Field(default="temporary-iam-users/", min_length=1, max_length=256)
    permissions_boundary_arn: str | None = None
    temporary_user_group: str | None = None
    # Groups under this path, besides temporary_user_group, are ones cleanup may take a user out of (None: none).
    removable_group_path: str | None = None
    default_ttl_days: int = Field(default=7, ge=1)
    max_ttl_days: int = Field(default=365, ge=1)
    rotate_after_days: int = Field(default=90, ge=1)
    deactivate_after_days: int = Field(default=7, ge=0)
    delete_after_days: int = Field(default=7, ge=0)
    max_key_age_days: int = Field(default=120, ge=1)
    stale_after_days: int = Field(default=90, ge=1)
    secret_recovery_days: int = Field(default=7, ge=7, le=30)
    verify_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    dry_run: bool = False
    notification_topic_arn: str | None = None
    secret_kms_key_id: str | None = None  # the stack's customer-managed key for new secrets
    lock_table_name: str | None = None  # the per-user lock table; without it runs take no locks
    # Detection (issue 7): what to do with a key created by hand on a managed user, how many days ahead
    # owners are warned, where lifecycle events go (None: not published), and whose IAM calls are the stack's.
    out_of_band_key_response: Literal["notify", "deactivate"] = "notify"
    forewarn_days: tuple[int, ...] = (7, 1)
    event_bus_name: str | None = None
    stack_role_path: str = "/iam-key-lifecycle/"
    # The prefer-roles advisor (docs/advisor.md): how many days of CloudTrail history it reads per key (LookupEvents
    # keeps 90), and how many LookupEvents requests a run may make (2 a second: 500 take about four minutes).
    advise_window_days: int = Field(default=30, ge=1, le=90)
    advise_lookup_budget: int = Field(default=500, ge=1, le=1500)
    # Open conditions also become Security Hub findings of this account (docs/notifications.md); off by default.
    security_hub_findings: bool = False

    @field_validator(*_OPTIONAL, mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("forewarn_days", mode="before")
    @classmethod
    def _days_from_text(cls, value: Any) -> Any:
        # The environment carries the list as "7,1"; an empty string means no forewarnings.
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("forewarn_days")
    @classmethod
    def _days(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 1 or day > 365 for day in value):
            raise ValueError("each day must be between 1 and 365")
        return tuple(sorted(set(value), reverse=True))

    @field_validator("managed_user_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if value == "/" or not USER_PATH_RE.match(value) or len(value) > 512:
            raise ValueError("must be an IAM path other than '/', starting and ending with '/', e.g. /temporary/")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.default_ttl_days > self.max_ttl_days:
            raise ValueError("DEFAULT_TTL_DAYS must not exceed MAX_TTL_DAYS")
        if self.max_key_age_days <= self.rotate_after_days:
            raise ValueError("MAX_KEY_AGE_DAYS must exceed ROTATE_AFTER_DAYS")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment; a bad value raises SettingsError naming the variable."""
        environ = os.environ if environ is None else environ
        values = {field: environ[name] for name, field in ENVIRONMENT.items() if name in environ}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError("invalid settings: " + "; ".join(describe(exc))) from None


# Environment variable name → settings field: every setting the functions read, by the name the stack sets.
ENVIRONMENT: dict[str, str] = {field.upper(): field for field in Settings.model_fields}


# Organization mode (issue 14). A model of its own, read the same way (variable = field name upper-cased): the
# single-account deployment sets none of these variables, so its functions' environment stays exactly ENVIRONMENT.
ORGANIZATION_ID_PATTERN = re.compile(r"^o-[a-z0-9]{10,32}$")
TARGET_PATTERN = re.compile(r"^(ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}|r-[0-9a-z]{4,32})$")
ACCOUNT_ID_PATTERN = re.compile(r"^[0-9]{12}$")


class OrganizationSettings(BaseModel):
    """Whether the functions act across an AWS Organization, and on which of its accounts. `organization_id` None
    is single-account mode (the default): every run acts on the function's own account, as it always has."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    organization_id: str | None = None
    # OU ids (ou-...) or the root id (r-...); empty: the whole organization. Nested OUs are included.
    organization_target_ous: tuple[str, ...] = ()
    organization_exclude_accounts: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return self.organization_id is not None

    @field_validator("organization_id", mode="before")
    @classmethod
    def _empty_is_off(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("organization_id")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        if value is not None and not ORGANIZATION_ID_PATTERN.match(value):
            raise ValueError("must be an organization id: o- and 10 to 32 lowercase letters or digits")
        return value

    @field_validator("organization_target_ous", "organization_exclude_accounts", mode="before")
    @classmethod
    def _list_from_text(cls, value: Any) -> Any:
        # The environment carries the list as "ou-ab12-cdef3456,ou-ab12-ghij7890", like FOREWARN_DAYS.
        return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value

    @field_validator("organization_target_ous")
    @classmethod
    def _targets(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not TARGET_PATTERN.match(target) for target in value):
            raise ValueError("each target must be an OU id (ou-...) or the root id (r-...)")
        return tuple(dict.fromkeys(value))

    @field_validator("organization_exclude_accounts")
    @classmethod
    def _accounts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not ACCOUNT_ID_PATTERN.match(account) for account in value):
            raise ValueError("each account must be a 12-digit account id")
        return tuple(dict.fromkeys(value))

    @model_validator(mode="after")
    def _consistent(self) -> OrganizationSettings:
        if self.organization_id is None and (self.organization_target_ous or self.organization_exclude_accounts):
            raise ValueError("ORGANIZATION_TARGET_OUS and ORGANIZATION_EXCLUDE_ACCOUNTS need ORGANIZATION_ID")
        return self

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> OrganizationSettings:
        """Read from the environment; a bad value raises SettingsError naming the variable."""
        environ = os.environ if environ is None else environ
        values = {field: environ[name] for name, field in ORGANIZATION_ENVIRONMENT.items() if name in environ}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise SettingsError("invalid settings: " + "; ".join(describe(exc))) from None


ORGANIZATION_ENVIRONMENT: dict[str, str] = {field.upper(): field for field in OrganizationSettings.model_fields}
SINGLE_ACCOUNT = OrganizationSettings()


def describe(error: ValidationError) -> list[str]:
    """Each problem as `VARIABLE: Pydantic's message` (`settings:` for a rule across variables); never the value."""
    described = []
    for item in error.errors(include_url=False, include_input=False):
        loc = item["loc"]
        name = str(loc[0]).upper() if loc else "settings"
        described.append(f"{name}: {item['msg']}")
    return described
