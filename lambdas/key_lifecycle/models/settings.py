"""The functions' settings: environment variables validated once at cold start, each problem naming its variable."""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

from key_lifecycle.models.base import Model, Problem, Rule, rule, validate_fields

# Environment variable name → settings field. Every setting the functions read is listed here,
# so the README, the stack and this model cannot drift apart silently.
ENVIRONMENT: dict[str, str] = {
    "MANAGED_USER_PATH": "managed_user_path",
    "MANAGED_BY_TAG_VALUE": "managed_by",
    "SECRET_PREFIX": "secret_prefix",
    "PERMISSIONS_BOUNDARY_ARN": "permissions_boundary_arn",
    "TEMPORARY_USER_GROUP": "temporary_user_group",
    "REMOVABLE_GROUP_PATH": "removable_group_path",
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
_OPTIONAL_NAMES = (
    "permissions_boundary_arn",
    "temporary_user_group",
    "removable_group_path",
    "notification_topic_arn",
    "secret_kms_key_id",
    "event_bus_name",
    "lock_table_name",
)


class SettingsError(ValueError):
    """A setting is missing or invalid; the message names the environment variable (or the field, for settings
    built in code). `problems`: each problem with its field, pydantic's error type and message."""

    def __init__(self, message: str, problems: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


def _optional() -> Any:
    return field(default=None, metadata=rule("str", optional=True))


@dataclass(frozen=True, kw_only=True)
class Settings(Model):
    """Validated settings. Defaults are the documented ones (README, "Settings"). Strings from the environment are
    converted ("14" → 14, "true" → True); every problem is reported at once."""

    managed_user_path: str = field(default="/temporary/", metadata=rule("str"))
    managed_by: str = field(default="iam-key-lifecycle", metadata=rule("str", min_length=1, max_length=256))
    secret_prefix: str = field(default="temporary-iam-users/", metadata=rule("str", min_length=1, max_length=256))
    permissions_boundary_arn: str | None = _optional()
    temporary_user_group: str | None = _optional()
    # Groups under this path, besides temporary_user_group, are ones cleanup may take a user out of (None: none).
    removable_group_path: str | None = _optional()
    default_ttl_days: int = field(default=7, metadata=rule("int", ge=1))
    max_ttl_days: int = field(default=365, metadata=rule("int", ge=1))
    rotate_after_days: int = field(default=90, metadata=rule("int", ge=1))
    deactivate_after_days: int = field(default=7, metadata=rule("int", ge=0))
    delete_after_days: int = field(default=7, metadata=rule("int", ge=0))
    max_key_age_days: int = field(default=120, metadata=rule("int", ge=1))
    stale_after_days: int = field(default=90, metadata=rule("int", ge=1))
    secret_recovery_days: int = field(default=7, metadata=rule("int", ge=7, le=30))
    verify_timeout_seconds: float = field(default=30.0, metadata=rule("float", gt=0, le=600))
    dry_run: bool = field(default=False, metadata=rule("bool"))
    notification_topic_arn: str | None = _optional()
    secret_kms_key_id: str | None = _optional()  # the stack's customer-managed key for new secrets
    lock_table_name: str | None = _optional()  # the per-user lock table; without it runs take no locks
    # Detection (issue 7): what to do with a key created by hand on a managed user, how many days ahead
    # owners are warned, where lifecycle events go (None: not published), and whose IAM calls are the stack's.
    out_of_band_key_response: Literal["notify", "deactivate"] = field(
        default="notify", metadata=rule("literal", choices=("notify", "deactivate"))
    )
    forewarn_days: tuple[int, ...] = field(default=(7, 1), metadata=rule("int_tuple"))
    event_bus_name: str | None = _optional()
    stack_role_path: str = field(default="/iam-key-lifecycle/", metadata=rule("str"))

    def __post_init__(self) -> None:
        values = {spec.name: getattr(self, spec.name) for spec in fields(self)}
        problems = _check(type(self), values)
        if problems:
            raise SettingsError(
                "invalid settings: " + "; ".join(f"{p['field'] or 'settings'}: {p['message']}" for p in problems),
                problems,
            )
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass may narrow a field the pydantic way (`rotate_after_days: int = Field(default=90, le=60)`):
        # its default and bounds replace the field's, as they would in a pydantic model.
        super().__init_subclass__(**kwargs)
        parent = {spec.name: spec for spec in fields(cls)}
        for name in inspect.get_annotations(cls):
            declared: Any = cls.__dict__.get(name)
            if name not in parent or not hasattr(declared, "metadata") or isinstance(declared, type(parent[name])):
                continue
            bounds = {
                key: getattr(constraint, key)
                for constraint in declared.metadata
                for key in ("ge", "gt", "le", "min_length", "max_length")
                if getattr(constraint, key, None) is not None
            }
            base = parent[name].metadata["rule"]
            options = {key: getattr(base, key) for key in ("optional", "ge", "gt", "le", "min_length", "max_length")}
            narrowed = Rule(base.kind, **{**options, **bounds}, pattern=base.pattern, choices=base.choices)
            default = getattr(declared, "default", MISSING)
            setattr(
                cls,
                name,
                field(default=parent[name].default if default is MISSING else default, metadata={"rule": narrowed}),
            )
        dataclass(frozen=True, kw_only=True)(cls)

    @classmethod
    def model_validate(cls, values: Mapping[str, Any]) -> Settings:
        """Settings from already-typed values (the stack's config, at synth): a problem raises pydantic's
        ValidationError, with pydantic's error types, for callers that read pydantic errors."""
        problems = _check(cls, dict(values))
        if not problems:
            return cls(**values)
        from pydantic_core import ValidationError  # synth only: pydantic stays off the functions' cold start

        raise ValidationError.from_exception_data(
            cls.__name__,
            [
                {
                    "type": p["type"],
                    "loc": (p["field"],) if p["field"] else (),
                    "input": p["input"],
                    "ctx": p["ctx"],
                }
                for p in problems
            ],
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from the environment; a bad value raises SettingsError naming the variable."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {field: environ[name] for name, field in ENVIRONMENT.items() if name in environ}
        problems = _check(cls, values)
        if problems:
            by_field = {field: name for name, field in ENVIRONMENT.items()}
            described = [f"{by_field.get(p['field'], 'settings')}: {p['message']}" for p in problems]
            raise SettingsError("invalid settings: " + "; ".join(described), problems)
        return cls(**values)


def _check(cls: type[Settings], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Convert `values` in place; the problems, in pydantic's order and words (empty when all is well)."""
    for name in _OPTIONAL_NAMES:
        if values.get(name) == "":
            values[name] = None
    problems = []
    days = values.get("forewarn_days")
    if isinstance(days, str):
        # The environment carries the list as "7,1"; an empty string means no forewarnings.
        try:
            values["forewarn_days"] = (
                tuple(int(part) for part in days.split(",") if part.strip()) if days.strip() else ()
            )
        except ValueError as exc:
            problems.append(_value_problem("forewarn_days", str(exc), days))
    spec = fields(cls)
    unparsed = {"forewarn_days": values.pop("forewarn_days")} if problems else {}
    problems += validate_fields(spec, values, strict=False)
    values.update(unparsed)
    failed = {p["field"] for p in problems}
    path = values.get("managed_user_path")
    bad_path = isinstance(path, str) and (path == "/" or not USER_PATH_RE.match(path) or len(path) > 512)
    if bad_path and "managed_user_path" not in failed:
        message = "must be an IAM path other than '/', starting and ending with '/', e.g. /temporary/"
        problems.append(_value_problem("managed_user_path", message, path))
    if "forewarn_days" in values and "forewarn_days" not in failed:
        if any(day < 1 or day > 365 for day in values["forewarn_days"]):
            problems.append(_value_problem("forewarn_days", "each day must be between 1 and 365", days))
        else:
            values["forewarn_days"] = tuple(sorted(set(values["forewarn_days"]), reverse=True))
    if problems:
        order = [s.name for s in spec]
        problems.sort(key=lambda p: order.index(p["field"]) if p["field"] in order else len(order))
        return problems
    # Rules across fields, checked once every field is valid (as a pydantic model validator is).
    merged = {s.name: values.get(s.name, s.default) for s in spec}
    if merged["default_ttl_days"] > merged["max_ttl_days"]:
        return [_value_problem("", "DEFAULT_TTL_DAYS must not exceed MAX_TTL_DAYS", values)]
    if merged["max_key_age_days"] <= merged["rotate_after_days"]:
        return [_value_problem("", "MAX_KEY_AGE_DAYS must exceed ROTATE_AFTER_DAYS", values)]
    return []


def _value_problem(name: str, text: str, value: Any) -> dict[str, Any]:
    problem = Problem("value_error", error=text)
    return {"field": name, "type": "value_error", "message": str(problem), "ctx": problem.ctx, "input": value}


def _frozen(self: Settings, name: str, value: Any) -> None:
    # A ValueError, as pydantic raised for a frozen model: settings are read once per cold start and never change.
    raise SettingsError(f"Instance is frozen: settings cannot be changed ({name})")


Settings.__setattr__ = _frozen  # type: ignore[method-assign,assignment]
