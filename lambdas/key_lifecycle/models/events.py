"""Manual and scheduled invoke payloads of the three functions. Unknown fields are refused; each problem names its
field. Checked explicitly (no conversions: a "7" is not a 7), in pydantic's wording."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Literal, TypeVar

from key_lifecycle.models.base import Model, missing, rule, validate_fields

# IAM user names allow letters, digits and +=,.@_- (IAM API Reference, CreateUser); the ',' is refused here too,
# because Secrets Manager secret names allow only letters, digits and /_+=.@- and each user's secret carries its name.
USER_NAME_PATTERN = r"^[A-Za-z0-9+=.@_-]+$"
# An IAM tag value: "Unicode letters, digits, white space, and the following symbols: _ . : / = + - @" (IAM API
# Reference, Tag). `\w` is Unicode letters, digits and '_'; the only white space let through is the plain space.
_TAG_VALUE_CHAR = r"[\w.:/=+\-@ ]"
TEXT_PATTERN = rf"^{_TAG_VALUE_CHAR}*$"
# The same, with at least one character that is not a space (and every character a tag value may hold).
OWNER_PATTERN = rf"^ *[\w.:/=+\-@]{_TAG_VALUE_CHAR}*$"


class EventValidationError(ValueError):
    """A manual payload is invalid. `problems` names each field and what is wrong with it."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__("invalid event: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems))


@dataclass(kw_only=True)
class _Event(Model):
    @classmethod
    def model_validate(cls: type[E], event: dict[str, Any]) -> E:
        values = dict(event)
        problems = validate_fields(fields(cls), values, strict=True) + missing(fields(cls), values)
        if problems:
            order = [spec.name for spec in fields(cls)]
            # Pydantic's order: declared fields as declared, then unknown ones as given.
            problems.sort(key=lambda p: order.index(p["field"]) if p["field"] in order else len(order))
            raise EventValidationError([{"field": p["field"], "message": p["message"]} for p in problems])
        return cls(**values)


E = TypeVar("E", bound=_Event)


def _action(name: str) -> Any:
    return field(metadata=rule("literal", choices=(name,)))


def _user_name(*, optional: bool) -> Any:
    checks = rule("str", optional=optional, min_length=1, max_length=64, pattern=USER_NAME_PATTERN)
    return field(default=None, metadata=checks) if optional else field(metadata=checks)


def _dry_run() -> Any:
    return field(default=None, metadata=rule("bool", optional=True))


@dataclass(kw_only=True)
class CreateUserEvent(_Event):
    """`{"action": "create_user", "user_name": ..., "owner": ..., "ttl_days": 7, "purpose": ..., "dry_run": false}`"""

    action: Literal["create_user"] = _action("create_user")
    user_name: str = _user_name(optional=False)
    owner: str = field(metadata=rule("str", min_length=1, max_length=256, pattern=OWNER_PATTERN))
    ttl_days: int | None = field(default=None, metadata=rule("int", optional=True, ge=1))
    purpose: str | None = field(default=None, metadata=rule("str", optional=True, max_length=256, pattern=TEXT_PATTERN))
    dry_run: bool | None = _dry_run()


@dataclass(kw_only=True)
class ReconcileEvent(_Event):
    """The create function's schedule input: `{"action": "reconcile"}`."""

    action: Literal["reconcile"] = _action("reconcile")
    dry_run: bool | None = _dry_run()


@dataclass(kw_only=True)
class AuditEvent(_Event):
    """`{"action": "audit"}`: the account posture audit (read-only; also the weekly schedule's input)."""

    action: Literal["audit"] = _action("audit")


@dataclass(kw_only=True)
class InventoryEvent(_Event):
    """`{"action": "report"}`: the inventory of managed users and their keys (read-only)."""

    action: Literal["report"] = _action("report")


@dataclass(kw_only=True)
class RotateEvent(_Event):
    """`{}` (the schedule), `{"dry_run": true}`, or `{"user_name": "x", "force": true}`."""

    user_name: str | None = _user_name(optional=True)
    force: bool = field(default=False, metadata=rule("bool"))
    dry_run: bool | None = _dry_run()


@dataclass(kw_only=True)
class CleanupEvent(_Event):
    """`{}` (the schedule), `{"dry_run": true}`, or `{"user_name": "x"}` (delete one managed user now)."""

    user_name: str | None = _user_name(optional=True)
    dry_run: bool | None = _dry_run()


CreateKeysRequest = CreateUserEvent | ReconcileEvent | AuditEvent | InventoryEvent
_CREATE_KEYS_ACTIONS: dict[str, type[_Event]] = {
    "create_user": CreateUserEvent,
    "reconcile": ReconcileEvent,
    "audit": AuditEvent,
    "report": InventoryEvent,
}


def _not_an_object() -> EventValidationError:
    return EventValidationError([{"field": "event", "message": "must be a JSON object"}])


def parse_create_keys_event(event: object) -> CreateKeysRequest:
    if not isinstance(event, dict):
        raise _not_an_object()
    if "action" not in event:
        message = "Unable to extract tag using discriminator 'action'"
        raise EventValidationError([{"field": "action", "message": message}])
    model = _CREATE_KEYS_ACTIONS.get(event["action"]) if isinstance(event["action"], str) else None
    if model is None:
        expected = ", ".join(f"'{name}'" for name in _CREATE_KEYS_ACTIONS)
        message = (
            f"Input tag '{event['action']}' found using 'action' does not match any of the expected tags: {expected}"
        )
        raise EventValidationError([{"field": "action", "message": message}])
    return model.model_validate(event)  # type: ignore[return-value]


def parse_rotate_event(event: object) -> RotateEvent:
    return _parse(RotateEvent, event)


def parse_cleanup_event(event: object) -> CleanupEvent:
    return _parse(CleanupEvent, event)


def _parse(model: type[E], event: object) -> E:
    if event is None:
        event = {}
    if not isinstance(event, dict):
        raise _not_an_object()
    return model.model_validate(event)


def parse_cloudtrail_event(event: object) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event: a JSON object whose detail names the API call."""
    if not isinstance(event, dict):
        raise _not_an_object()
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise EventValidationError([{"field": "detail", "message": "must be the CloudTrail record (an object)"}])
    if not isinstance(detail.get("eventName"), str):
        raise EventValidationError([{"field": "detail.eventName", "message": "must be a string"}])
    return event
