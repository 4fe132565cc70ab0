"""Manual and scheduled invoke payloads of the functions: Pydantic models, parsed through the Powertools parser.
Unknown fields are refused, nothing is converted (a "7" is not a 7), and each problem names its field."""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from aws_lambda_powertools.utilities.parser import parse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
    """A manual payload is invalid. `problems` names each field and what is wrong with it (never its value)."""

    def __init__(self, problems: list[dict[str, str]]):
        self.problems = problems
        super().__init__("invalid event: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems))


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


UserName = Annotated[str, Field(min_length=1, max_length=64, pattern=USER_NAME_PATTERN)]
# Organization mode: the member account a run acts in (a string of exactly 12 digits; without it, the function's
# own account). Whether it is one of the organization's target accounts is checked by the service.
AccountId = Annotated[str, Field(pattern=r"^[0-9]{12}$")]


class CreateUserEvent(_Event):
    """`{"action": "create_user", "user_name": ..., "owner": ..., "ttl_days": 7, "purpose": ..., "dry_run": false}`"""

    action: Literal["create_user"]
    user_name: UserName
    owner: Annotated[str, Field(min_length=1, max_length=256, pattern=OWNER_PATTERN)]
    ttl_days: Annotated[int, Field(ge=1)] | None = None
    purpose: Annotated[str, Field(max_length=256, pattern=TEXT_PATTERN)] | None = None
    dry_run: bool | None = None
    account_id: AccountId | None = None


class ReconcileEvent(_Event):
    """The create function's schedule input: `{"action": "reconcile"}`."""

    action: Literal["reconcile"]
    dry_run: bool | None = None
    account_id: AccountId | None = None


class AuditEvent(_Event):
    """`{"action": "audit"}`: the account posture audit (read-only; also the weekly schedule's input)."""

    action: Literal["audit"]
    account_id: AccountId | None = None


class DigestEvent(_Event):
    """`{"action": "digest"}`: the operator's digest of what changed since the last one (also its schedule's input)."""

    action: Literal["digest"]


class InventoryEvent(_Event):
    """`{"action": "report"}`: the inventory of managed users and their keys (read-only)."""

    action: Literal["report"]
    account_id: AccountId | None = None


class AdviseEvent(_Event):
    """The rotate function's `{"action": "advise"}` (also the weekly schedule's input), optionally for one user
    (`user_name`): where each active access key is used from and the role that could replace it (read-only)."""

    action: Literal["advise"]
    user_name: UserName | None = None
    account_id: AccountId | None = None


class RotateEvent(_Event):
    """`{}` (the schedule), `{"dry_run": true}`, or `{"user_name": "x", "force": true}`."""

    user_name: UserName | None = None
    force: bool = False
    dry_run: bool | None = None
    account_id: AccountId | None = None


class CleanupEvent(_Event):
    """`{}` (the schedule), `{"dry_run": true}`, or `{"user_name": "x"}` (delete one managed user now)."""

    user_name: UserName | None = None
    dry_run: bool | None = None
    account_id: AccountId | None = None


class ListAccountsEvent(_Event):
    """`{"action": "list_accounts"}`: the organization's target accounts (the first step of an organization run)."""

    action: Literal["list_accounts"]


# An ISO 8601 timestamp with its offset, as Step Functions gives `$$.Execution.StartTime`.
TIMESTAMP_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$"


class ResultWriterPrefix(_Event):
    """Where a Distributed Map wrote its results: the bucket and the prefix of one map run (the newest manifest
    under it; with `written_after`, only one written at or after that moment, e.g. the execution's start)."""

    bucket: Annotated[str, Field(min_length=3, max_length=63)]
    prefix: Annotated[str, Field(max_length=1024)] = ""
    written_after: Annotated[str, Field(pattern=TIMESTAMP_PATTERN)] | None = None


class MapFailure(_Event):
    """What a Catch on the map state gives (`ResultPath` of the caught error): Step Functions' error and cause."""

    Error: Annotated[str, Field(min_length=1, max_length=256)]
    Cause: Annotated[str, Field(max_length=32_768)] = ""


class ResultWriterDetails(_Event):
    """The map state's own output (`$.ResultWriterDetails`): the bucket and the key of the run's manifest.json."""

    Bucket: Annotated[str, Field(min_length=3, max_length=63)]
    Key: Annotated[str, Field(min_length=1, max_length=1024)]


class AggregateRunsEvent(_Event):
    """`{"action": "aggregate_runs", "job": "rotate", "result_writer": {"bucket": ..., "prefix": ...}}` or with
        `"result_writer": {"Bucket": ..., "Key": ".../manifest.json"}` (the map's ResultWriterDetails): the last step of
        an organization run, one report and one notification for every account; with `"map_failed": {"Error", "Cause"}`
    (the map state's caught error) when the map run itself failed."""

    action: Literal["aggregate_runs"]
    job: Literal["rotate", "cleanup", "reconcile", "audit", "advise"]
    result_writer: ResultWriterDetails | ResultWriterPrefix
    # The map run failed (its tolerated failures exceeded, a runtime error): the report says so, beside whatever
    # per-account results the run wrote.
    map_failed: MapFailure | None = None


CreateKeysRequest = (
    CreateUserEvent
    | ReconcileEvent
    | AuditEvent
    | InventoryEvent
    | DigestEvent
    | ListAccountsEvent
    | AggregateRunsEvent
)
# The create function's payloads, told apart by their action (an unknown or missing one is refused by name).
_CREATE_KEYS_REQUEST = Annotated[CreateKeysRequest, Field(discriminator="action")]
E = TypeVar("E", bound=BaseModel)


def parse_create_keys_event(event: object) -> CreateKeysRequest:
    request: CreateKeysRequest = _parse(_CREATE_KEYS_REQUEST, event, tagged_by="action")
    return request


def parse_rotate_event(event: object) -> RotateEvent | AdviseEvent:
    """The rotate function's payloads: a rotation (no `action`), or `{"action": "advise", ...}`."""
    event = {} if event is None else event
    if isinstance(event, dict) and "action" in event:
        advise: AdviseEvent = _parse(AdviseEvent, event)
        return advise
    rotate: RotateEvent = _parse(RotateEvent, event)
    return rotate


def parse_cleanup_event(event: object) -> CleanupEvent:
    return _parse(CleanupEvent, {} if event is None else event)


def _parse(model: Any, event: object, *, tagged_by: str = "") -> Any:
    # Only objects: the parser would otherwise read a string event as JSON text.
    if not isinstance(event, dict):
        raise EventValidationError([{"field": "event", "message": "must be a JSON object"}])
    try:
        return parse(event=event, model=model)
    except ValidationError as exc:
        raise EventValidationError(problems(exc, tagged_by=tagged_by)) from None


def problems(error: ValidationError, *, tagged_by: str = "") -> list[dict[str, str]]:
    """Each of Pydantic's errors as the field it concerns and Pydantic's message, never the input. In a union
    told apart by `tagged_by`, the tag Pydantic puts first in each location is left out, and a missing or unknown
    tag is the tag field's problem."""
    described = []
    for item in error.errors(include_url=False, include_input=False):
        loc = [str(part) for part in item["loc"]]
        if tagged_by:
            loc = loc[1:] or [tagged_by]
        described.append({"field": ".".join(loc) or "event", "message": item["msg"]})
    return described


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
