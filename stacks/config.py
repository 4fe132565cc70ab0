"""The operator's configuration: the cdk.json context validated once into a typed, frozen config.

A bad or missing value fails synth with a message naming the context key, never at run time in a Lambda.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

# The engine's settings model is the one source of truth for the environment variable names and the
# engine's own rules; importing it (instead of mirroring it) keeps the stack and the functions in step.
from key_lifecycle.models.settings import ENVIRONMENT, Settings

REPO_ROOT = Path(__file__).resolve().parent.parent
LAMBDAS_DIR = REPO_ROOT / "lambdas"


# Every role the stack creates lives under this path, so the functions' own-role deny can name them all
# with one ARN pattern instead of referring to the roles (which would make the policies circular).
ROLE_PATH = "/iam-key-lifecycle/"
# Settings that no longer exist, with what replaced them: an old cdk.json that still sets one fails synth with
# this message rather than "unknown setting", and never silently deploys something else than it asked for.
RETIRED_SETTINGS = {
    "powertools_layer_version": "no longer used: the Powertools layer is the release pinned in requirements-dev.txt "
    "(aws-lambda-powertools==X.Y.Z), its ARN resolved at deploy from Powertools' public SSM parameter; remove the key",
}

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = frozenset(
    {1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}
)

# Operator settings are snake_case; anything else in the context (feature flags, aws:cdk:* keys) is the CDK's.
_OPERATOR_KEY_RE = re.compile(r"^[a-z][a-z0-9_]*$")
# IAM paths may contain `*` and `?`, which would widen every ARN pattern built from the path.
_PATH_RE = re.compile(r"^/([A-Za-z0-9_+=,.@-]+/)+$")
_SECRET_PREFIX_RE = re.compile(r"^[A-Za-z0-9/_+=.@-]+$")
_POLICY_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_/-]+$")
_PRINCIPAL_ARN_RE = re.compile(r"^arn:(aws[a-z-]*):iam::(\d{12}):(root|(role|user)/[A-Za-z0-9+=,.@_/-]+)$")
# AWS managed policies that would hand temporary users the account (or the means to take it): refused at synth.
PRIVILEGED_POLICIES = frozenset(
    {
        "AdministratorAccess",
        "AdministratorAccess-Amplify",
        "AdministratorAccess-AWSElasticBeanstalk",
        "PowerUserAccess",
        "IAMFullAccess",
        "AWSCloudFormationFullAccess",
        "AWSLambda_FullAccess",
        "AWSKeyManagementServicePowerUser",
        "SecretsManagerReadWrite",
        "AmazonEventBridgeSchedulerFullAccess",
    }
)
_TAG_VALUE_RE = re.compile(r"^[\w.:/=+\-@ ]+$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_RATE_RE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$")
_CRON_RE = re.compile(r"^cron\(\S+( \S+){5}\)$")
_AT_RE = re.compile(r"^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")

# The digest's times: before the working day, after the nightly cleanup and the weekly audit.
DIGEST_SCHEDULES = {"daily": "cron(0 8 * * ? *)", "weekly": "cron(0 8 ? * MON *)"}

# The context keys that are also the engine's settings (same names: the settings model's field names).
ENGINE_SETTINGS = (
    "managed_user_path",
    "managed_by_tag_value",
    "secret_prefix",
    "default_ttl_days",
    "max_ttl_days",
    "rotate_after_days",
    "deactivate_after_days",
    "delete_after_days",
    "max_key_age_days",
    "stale_after_days",
    "secret_recovery_days",
    "verify_timeout_seconds",
    "dry_run",
    "out_of_band_key_response",
    "forewarn_days",
    "advise_window_days",
    "advise_lookup_budget",
    "security_hub_findings",
)


class ConfigError(ValueError):
    """The cdk.json context is invalid; the message names every offending key."""


class SchedulesEnabled(BaseModel):
    """Which schedules are ENABLED; a disabled schedule is still deployed, in state DISABLED."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reconcile: bool = True
    rotate: bool = True
    cleanup: bool = True
    audit: bool = True
    advise: bool = True


_OU_RE = re.compile(r"^(ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32})$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ORGANIZATION_ID_RE = re.compile(r"^o-[a-z0-9]{10,32}$")


class OrganizationConfig(BaseModel):
    """Organization mode (docs/organization.md): off by default; on, the stack is the hub and a StackSet deploys
    the spoke to every account of the target OUs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = False
    # Required when enabled: every cross-account trust and policy is limited to this organization.
    organization_id: str | None = None
    # OU ids or the root id; empty means the organization's root (every account), passed at deploy as the
    # OrganizationRootId parameter since no synth can know it.
    target_ous: tuple[str, ...] = ()
    exclude_accounts: tuple[str, ...] = ()
    # Step Functions Distributed Map runs at most 10,000 child executions at once.
    max_concurrency: int = Field(default=40, ge=1, le=10_000)
    tolerated_failure_percentage: float = Field(default=10, ge=0, le=100)

    @field_validator("organization_id", mode="before")
    @classmethod
    def _null_id(cls, value: Any) -> Any:
        return None if value in ("", "null", "none", "None") else value

    @field_validator("organization_id")
    @classmethod
    def _organization_id(cls, value: str | None) -> str | None:
        if value is not None and not _ORGANIZATION_ID_RE.match(value):
            raise ValueError(
                "must be an organization id, such as o-a1b2c3d4e5 (aws organizations describe-organization)"
            )
        return value

    @field_validator("target_ous")
    @classmethod
    def _ous(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for ou in value:
            if not _OU_RE.match(ou):
                raise ValueError(f"{ou!r} is not an OU id (ou-xxxx-xxxxxxxx) or a root id (r-xxxx)")
        if len(set(value)) != len(value):
            raise ValueError("lists an OU twice")
        return value

    @field_validator("exclude_accounts")
    @classmethod
    def _accounts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for account in value:
            if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
                raise ValueError(f"{account!r} is not a 12-digit account id (give it as a string)")
        if len(set(value)) != len(value):
            raise ValueError("lists an account twice")
        return value

    @model_validator(mode="after")
    def _complete(self) -> OrganizationConfig:
        if self.enabled and self.organization_id is None:
            raise ValueError('"organization_id" is required when organization mode is on')
        return self


Days = Annotated[int, Field(ge=1, le=3650)]
GraceDays = Annotated[int, Field(ge=0, le=3650)]


class LifecycleConfig(BaseModel):
    """Every operator setting. cdk.json holds each one with its default; only the nullable ones have one here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    managed_user_path: str
    managed_by_tag_value: str = Field(min_length=1, max_length=256)
    secret_prefix: str = Field(min_length=1, max_length=256)
    default_ttl_days: Days
    max_ttl_days: Days
    rotate_after_days: Days
    deactivate_after_days: GraceDays
    delete_after_days: GraceDays
    max_key_age_days: Days
    stale_after_days: Days
    secret_recovery_days: int = Field(ge=7, le=30)
    verify_timeout_seconds: float = Field(gt=0, le=600)
    allowed_managed_policies: tuple[str, ...] = Field(max_length=10)
    schedule_time_zone: str
    reconcile_schedule: str
    rotate_schedule: str
    cleanup_schedule: str
    schedules_enabled: SchedulesEnabled
    # null drops a key from the CDK context, so for these absent and null are the same: none.
    notification_email: str | None = None
    log_retention_days: int
    dry_run: bool
    reserved_concurrency: int | None = Field(default=None, ge=1, le=1000)
    secret_readers: tuple[str, ...]
    # Groups under this path, besides the stack's own, are ones cleanup may take a deleted user out of (null: none).
    removable_group_path: str | None = None
    generate_bootstrap_version_rule: bool
    # Detection (stacks/detection.py): the response to a key created by hand on a managed user, the days
    # ahead owners are warned, the posture audit's schedule, and a CloudTrail trail for accounts without one.
    out_of_band_key_response: Literal["notify", "deactivate"]
    forewarn_days: tuple[Annotated[int, Field(ge=1, le=365)], ...] = Field(max_length=5)
    audit_schedule: str
    # The operator's digest of what changed (docs/notifications.md): daily, weekly, or off.
    digest: Literal["daily", "weekly", "off"] = "daily"
    # Open conditions as Security Hub findings of the account (BatchImportFindings into its default product).
    security_hub_findings: bool = False
    create_cloudtrail_trail: bool
    # The prefer-roles advisor (docs/advisor.md): its weekly schedule, the days of CloudTrail history it reads
    # (LookupEvents keeps 90), and the LookupEvents requests a run may make (2 a second, shared with the account).
    advise_schedule: str
    advise_window_days: int = Field(ge=1, le=90)
    advise_lookup_budget: int = Field(ge=1, le=1500)
    organization: OrganizationConfig

    @field_validator(
        "allowed_managed_policies",
        "secret_readers",
        "schedules_enabled",
        "forewarn_days",
        "organization",
        mode="before",
    )
    @classmethod
    def _json_from_cli(cls, value: Any) -> Any:
        # `cdk synth -c key=value` passes every value as a string.
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                raise ValueError('must be JSON, such as ["IAMReadOnlyAccess"] or {"rotate": false}') from None
        return value

    @field_validator("notification_email", "reserved_concurrency", "removable_group_path", mode="before")
    @classmethod
    def _null_from_cli(cls, value: Any) -> Any:
        return None if value in ("", "null", "none", "None") else value

    @field_validator("managed_user_path")
    @classmethod
    def _path(cls, value: str) -> str:
        if not _PATH_RE.match(value) or len(value) > 512:
            raise ValueError("must be an IAM path other than '/', such as /temporary/ (letters, digits and _+=,.@-)")
        return value

    @field_validator("removable_group_path")
    @classmethod
    def _group_path(cls, value: str | None) -> str | None:
        if value is not None and (not _PATH_RE.match(value) or len(value) > 512):
            raise ValueError(
                "must be null or an IAM path other than '/', such as /removable/ (letters, digits, _+=,.@-)"
            )
        return value

    @field_validator("managed_by_tag_value")
    @classmethod
    def _tag_value(cls, value: str) -> str:
        if not _TAG_VALUE_RE.match(value):
            raise ValueError("may contain only letters, digits, spaces and _.:/=+-@ (an IAM tag value)")
        return value

    @field_validator("secret_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not _SECRET_PREFIX_RE.match(value):
            raise ValueError("may contain only letters, digits and /_+=.@-")
        # Every secret permission is `secret:<prefix>*`: without the '/', "temporary-iam-users" would also cover
        # "temporary-iam-users-lookalike/..." and "temporary-iam-userss".
        if not value.endswith("/"):
            raise ValueError("must end with '/', such as temporary-iam-users/, so it names one folder of secrets")
        return value

    @field_validator("allowed_managed_policies")
    @classmethod
    def _policies(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not _POLICY_NAME_RE.match(name):
                raise ValueError(f"{name!r} is not an AWS managed policy name, such as IAMReadOnlyAccess")
            if name in PRIVILEGED_POLICIES:
                raise ValueError(
                    f"{name!r} is privileged: temporary users could take over the account (assume the CDK deploy "
                    "roles, change the stack's functions or key policies); allow narrower policies"
                )
        if len(set(value)) != len(value):
            raise ValueError("lists a policy twice")
        return value

    @field_validator("secret_readers")
    @classmethod
    def _readers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for arn in value:
            if not _PRINCIPAL_ARN_RE.match(arn):
                raise ValueError(f"{arn!r} is not an IAM role, user or account root ARN")
        if len({_reader_parts(arn) for arn in value}) > 1:
            raise ValueError("must all be in one account and partition: the stack's (the key policy names them)")
        if len(set(value)) != len(value):
            raise ValueError("lists a principal twice")
        return value

    @field_validator("schedule_time_zone")
    @classmethod
    def _time_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("must be an IANA time zone name, such as UTC or Europe/Berlin") from None
        return value

    @field_validator("reconcile_schedule", "rotate_schedule", "cleanup_schedule", "audit_schedule", "advise_schedule")
    @classmethod
    def _expression(cls, value: str) -> str:
        if not (_RATE_RE.match(value) or _CRON_RE.match(value) or _AT_RE.match(value)):
            raise ValueError(
                "must be an EventBridge Scheduler expression: rate(1 hour), rate(6 hours), "
                "cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)"
            )
        return value

    @field_validator("notification_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL_RE.match(value):
            raise ValueError("must be an email address or null")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of the CloudWatch Logs retention periods: {sorted(LOG_RETENTION_DAYS)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LifecycleConfig:
        if self.default_ttl_days > self.max_ttl_days:
            raise ValueError('"default_ttl_days" must not exceed "max_ttl_days"')
        if self.max_key_age_days <= self.rotate_after_days:
            raise ValueError('"max_key_age_days" must exceed "rotate_after_days"')
        return self

    @property
    def digest_schedule(self) -> str | None:
        """The digest's schedule expression (in schedule_time_zone), or None when it is off."""
        return DIGEST_SCHEDULES.get(self.digest)

    def engine_settings(self) -> dict[str, Any]:
        """The engine's settings fields this config sets (the stack adds the resource ARNs and names)."""
        return {key: getattr(self, key) for key in ENGINE_SETTINGS}


def _reader_parts(arn: str) -> tuple[str, str]:
    match = _PRINCIPAL_ARN_RE.match(arn)
    return (match.group(1), match.group(2)) if match else ("", "")


def reader_account(secret_readers: tuple[str, ...]) -> tuple[str, str]:
    """(partition, account) of the secret readers, which the validator keeps to one of each."""
    return _reader_parts(secret_readers[0])


def operator_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """The operator's keys of a CDK context (CDK's own keys, such as feature flags, left out)."""
    return {key: value for key, value in context.items() if _OPERATOR_KEY_RE.match(key)}


def cdk_json_context(path: Path = REPO_ROOT / "cdk.json") -> dict[str, Any]:
    """The context block of cdk.json: the defaults, for callers that build the app in process (tests, tools)."""
    context: dict[str, Any] = json.loads(path.read_text())["context"]
    return context


def load_config(context: Mapping[str, Any]) -> LifecycleConfig:
    """Validate the operator's context; raise ConfigError naming each bad, missing or unknown key."""
    values = operator_context(context)
    try:
        config = LifecycleConfig.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, values)) from None
    _check_against_engine(config)
    return config


def settings_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """Engine settings fields → the functions' environment, with the variable names the engine reads."""
    unknown = sorted(set(settings) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"the functions' settings model has no field {unknown[0]!r} (models/settings.py)")
    return {name: settings[field] for name, field in ENVIRONMENT.items() if field in settings}


def _describe(exc: ValidationError, values: Mapping[str, Any]) -> str:
    problems = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        key = loc[0] if loc else ""
        if error["type"] == "missing":
            message = "missing (every setting must be in cdk.json; see the README for its default)"
        elif error["type"] == "extra_forbidden" and len(loc) == 1 and key in RETIRED_SETTINGS:
            message = RETIRED_SETTINGS[key]
        elif error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling against the README)" if len(loc) == 1 else "unknown key"
        else:
            message = _friendly(error)
        if not key:
            problems.append(f"cdk.json context: {message}")
            continue
        where = ".".join(loc)
        shown = "" if error["type"] in ("missing", "extra_forbidden") else f" (got {_value_at(values, loc)!r})"
        problems.append(f'cdk.json context "{where}": {message}{shown}')
    return "\n".join(problems)


def _value_at(values: Mapping[str, Any], loc: list[str]) -> Any:
    value: Any = values
    for part in loc:
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            break
    return value


def _friendly(error: Any) -> str:
    ctx = error.get("ctx") or {}
    kind = error["type"]
    if kind == "greater_than_equal":
        return f"must be >= {ctx['ge']}"
    if kind == "greater_than":
        return f"must be > {ctx['gt']}"
    if kind == "less_than_equal":
        return f"must be <= {ctx['le']}"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"]).replace("Value error, ", "")


def _check_against_engine(config: LifecycleConfig) -> None:
    # The functions validate their settings again at cold start; running the same model here turns
    # any rule the engine has and this config lacks into a synth error rather than a broken deployment.
    try:
        Settings.model_validate(config.engine_settings())
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            message = _friendly(error)
            for name, field in ENVIRONMENT.items():  # a rule across settings names them by variable
                message = message.replace(name, f'"{field}"')
            where = f' "{error["loc"][0]}"' if error["loc"] else ""
            problems.append(f"cdk.json context{where}: {message}")
        raise ConfigError("\n".join(problems)) from None
