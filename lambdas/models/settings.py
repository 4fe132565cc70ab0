"""The functions' settings: environment variables validated once at cold start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# Environment variable name → settings field. Every setting the functions read is listed here,
# so the README, the stack and this model cannot drift apart silently.
ENVIRONMENT: dict[str, str] = {
    "MANAGED_USER_PATH": "managed_user_path",
    "MANAGED_BY_TAG_VALUE": "managed_by",
    "SECRET_PREFIX": "secret_prefix",
    "PERMISSIONS_BOUNDARY_ARN": "permissions_boundary_arn",
    "TEMPORARY_USER_GROUP": "temporary_user_group",
    "DEFAULT_TTL_DAYS": "default_ttl_days",
    "MAX_TTL_DAYS": "max_ttl_days",
    "ROTATE_AFTER_DAYS": "rotate_after_days",
    "DEACTIVATE_AFTER_DAYS": "deactivate_after_days",
    "DELETE_AFTER_DAYS": "delete_after_days",
    "MAX_KEY_AGE_DAYS": "max_key_age_days",
    "STALE_AFTER_DAYS": "stale_after_days",
    "SECRET_RECOVERY_DAYS": "secret_recovery_days",
    "VERIFY_TIMEOUT_SECONDS": "verify_timeout_seconds",
    "DRY_RUN": "dry_run",
    "NOTIFICATION_TOPIC_ARN": "notification_topic_arn",
    "SECRET_KMS_KEY_ID": "secret_kms_key_id",
    "OUT_OF_BAND_KEY_RESPONSE": "out_of_band_key_response",
    "FOREWARN_DAYS": "forewarn_days",
    "EVENT_BUS_NAME": "event_bus_name",
    "STACK_ROLE_PATH": "stack_role_path",
    "LOCK_TABLE_NAME": "lock_table_name",
}

USER_PATH_RE = re.compile(r"^/([\x21-\x7e]+/)?$")


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable."""


class Settings(BaseModel):
    """Validated settings. Defaults are the documented ones (README, "Settings")."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    managed_user_path: str = "/temporary/"
    managed_by: str = Field(default="iam-key-lifecycle", min_length=1, max_length=256)
    secret_prefix: str = Field(default="temporary-iam-users/", min_length=1, max_length=256)
    permissions_boundary_arn: str | None = None
    temporary_user_group: str | None = None
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

    @field_validator("managed_user_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if value == "/" or not USER_PATH_RE.match(value) or len(value) > 512:
            raise ValueError("must be an IAM path other than '/', starting and ending with '/', e.g. /temporary/")
        return value

    @field_validator(
        "permissions_boundary_arn",
        "temporary_user_group",
        "notification_topic_arn",
        "secret_kms_key_id",
        "event_bus_name",
        "lock_table_name",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("forewarn_days", mode="before")
    @classmethod
    def _days_list(cls, value: Any) -> Any:
        # The environment carries the list as "7,1"; an empty string means no forewarnings.
        if isinstance(value, str):
            return tuple(int(part) for part in value.split(",") if part.strip()) if value.strip() else ()
        return value

    @field_validator("forewarn_days")
    @classmethod
    def _days_positive(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(day < 1 or day > 365 for day in value):
            raise ValueError("each day must be between 1 and 365")
        return tuple(sorted(set(value), reverse=True))

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
            by_field = {field: name for name, field in ENVIRONMENT.items()}
            problems = []
            for error in exc.errors():
                loc = error["loc"][0] if error["loc"] else ""
                name = by_field.get(str(loc), "settings")
                problems.append(f"{name}: {error['msg']}")
            raise SettingsError("invalid settings: " + "; ".join(problems)) from None
