"""Manual and scheduled invoke payloads of the three functions. Unknown fields are refused."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

# IAM user names: 1-64 characters of letters, digits and +=,.@_-
USER_NAME_RE = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class CreateUserEvent(_Event):
    """`{"action": "create_user", "user_name": ..., "owner": ..., "ttl_days": 7, "purpose": ..., "dry_run": false}`"""

    action: Literal["create_user"]
    user_name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9+=,.@_-]+$")
    owner: str = Field(min_length=1, max_length=256, pattern=r"^[\w.:/=+\-@ ]*\S[\w.:/=+\-@ ]*$")
    ttl_days: int | None = Field(default=None, ge=1)
    purpose: str | None = Field(default=None, max_length=256, pattern=r"^[\w.:/=+\-@ ]*$")
    dry_run: bool | None = None


class ReconcileEvent(_Event):
    """The create function's schedule input: `{"action": "reconcile"}`."""

    action: Literal["reconcile"]
    dry_run: bool | None = None


class AuditEvent(_Event):
    """`{"action": "audit"}`: the account posture audit (read-only; also the weekly schedule's input)."""

    action: Literal["audit"]


class InventoryEvent(_Event):
    """`{"action": "report"}`: the inventory of managed users and their keys (read-only)."""

    action: Literal["report"]


class RotateEvent(_Event):
    """`{}` (the schedule), `{"dry_run": true}`, or `{"user_name": "x", "force": true}`."""

    user_name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9+=,.@_-]+$")
    force: bool = False
    dry_run: bool | None = None


class CleanupEvent(_Event):
    """`{}` (the schedule), `{"dry_run": true}`, or `{"user_name": "x"}` (delete one managed user now)."""

    user_name: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9+=,.@_-]+$")
    dry_run: bool | None = None


CreateKeysRequest = CreateUserEvent | ReconcileEvent | AuditEvent | InventoryEvent
CreateKeysEvent = Annotated[CreateKeysRequest, Field(discriminator="action")]
_CREATE_KEYS_ADAPTER: TypeAdapter[CreateKeysRequest] = TypeAdapter(CreateKeysEvent)


class EventValidationError(ValueError):
    """A manual payload is invalid. `problems` names each field and what is wrong with it."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__("invalid event: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems))


def _problems(exc: ValidationError) -> list[dict[str, str]]:
    problems = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = [str(part) for part in error["loc"] if part not in ("create_user", "reconcile", "audit", "report")]
        field = ".".join(loc) or ("action" if error["type"].startswith("union_tag") else "event")
        problems.append({"field": field, "message": error["msg"]})
    return problems


def parse_create_keys_event(event: object) -> CreateKeysRequest:
    if not isinstance(event, dict):
        raise EventValidationError([{"field": "event", "message": "must be a JSON object"}])
    try:
        return _CREATE_KEYS_ADAPTER.validate_python(event)
    except ValidationError as exc:
        raise EventValidationError(_problems(exc)) from None


def parse_rotate_event(event: object) -> RotateEvent:
    return _parse(RotateEvent, event)


def parse_cleanup_event(event: object) -> CleanupEvent:
    return _parse(CleanupEvent, event)


M = TypeVar("M", bound="_Event")


def _parse(model: type[M], event: object) -> M:
    if event is None:
        event = {}
    if not isinstance(event, dict):
        raise EventValidationError([{"field": "event", "message": "must be a JSON object"}])
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise EventValidationError(_problems(exc)) from None


def parse_cloudtrail_event(event: object) -> dict[str, Any]:
    """An EventBridge "AWS API Call via CloudTrail" event: a JSON object whose detail names the API call."""
    if not isinstance(event, dict):
        raise EventValidationError([{"field": "event", "message": "must be a JSON object"}])
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise EventValidationError([{"field": "detail", "message": "must be the CloudTrail record (an object)"}])
    if not isinstance(detail.get("eventName"), str):
        raise EventValidationError([{"field": "detail.eventName", "message": "must be a string"}])
    return event
