"""CloudTrail and EventBridge rule delivery for the local account, which has neither: a call made through a
recorded client becomes the management event AWS would record, delivered to every deployed rule that matches."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from moto.events.models import EventPattern

if TYPE_CHECKING:
    from local_account.runtime import Invocation

from key_lifecycle.models.constants import CLOUDTRAIL_DETAIL_TYPE

# IAM and STS are global: CloudTrail records their calls in us-east-1, whatever endpoint was used.
GLOBAL_SERVICES = {"iam": "us-east-1", "sts": "us-east-1"}
# CloudTrail never records a secret: request values are masked, response values left out.
HIDDEN = "HIDDEN_DUE_TO_SECURITY_REASONS"
SENSITIVE = frozenset(
    {"Password", "NewPassword", "OldPassword", "SecretAccessKey", "ServicePassword", "PrivateKey", "SecretString"}
)
SOURCE_IP = "127.0.0.1"
USER_AGENT = "local-account/boto3"
READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Generate")


@dataclass(frozen=True)
class Origin:
    """Where a recorded caller is, as CloudTrail shows it: its source address, its user agent, and the VPC endpoint
    its call went through (the demo's consumers of several origins, for the prefer-roles advisor)."""

    source_ip: str = SOURCE_IP
    user_agent: str = USER_AGENT
    vpc_endpoint_id: str | None = None


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _cloudtrail_time(moment: datetime) -> str:
    """Dates inside responseElements are written as AWS's console does: `Mar 4, 2025, 9:15:01 AM`."""
    moment = moment.astimezone(UTC)
    return f"{moment:%b} {moment.day}, {moment.year}, {moment.hour % 12 or 12}:{moment:%M:%S %p}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _elements(value: Any, *, request: bool) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if key == "ResponseMetadata":
                continue
            if key in SENSITIVE:
                if request:
                    out[_camel(key)] = HIDDEN
                continue
            out[_camel(key)] = _elements(item, request=request)
        return out
    if isinstance(value, list | tuple):
        return [_elements(item, request=request) for item in value]
    if isinstance(value, datetime):
        return _cloudtrail_time(value if value.tzinfo else value.replace(tzinfo=UTC))
    return value


def management_event(
    operation: str,
    request: Mapping[str, Any] | None,
    response: Mapping[str, Any] | None,
    *,
    identity: Mapping[str, Any],
    when: datetime,
    account_id: str,
    region: str,
    service: str = "iam",
    error: tuple[str, str] | None = None,
    origin: Origin | None = None,
) -> dict[str, Any]:
    """The EventBridge event of one API call as CloudTrail records it (shape of a real "AWS API Call via
    CloudTrail" event): `request` is the call's parameters and `response` its result, both as boto3 has them
    (PascalCase); `error` the (code, message) of a refused call; `origin` where the caller is."""
    origin = origin or Origin()
    region = GLOBAL_SERVICES.get(service, region)
    event_id = str(uuid.uuid4())
    detail: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": dict(identity),
        "eventTime": _iso(when),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": origin.source_ip,
        "userAgent": origin.user_agent,
        "requestParameters": _elements(request, request=True) or None,
        "responseElements": None if error else (_elements(response, request=False) or None),
        "requestID": str(uuid.uuid4()),
        "eventID": event_id,
        "readOnly": operation.startswith(READ_ONLY_PREFIXES),
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{service}.amazonaws.com",
        },
    }
    if error:
        detail["errorCode"], detail["errorMessage"] = error
    if origin.vpc_endpoint_id:
        detail["vpcEndpointId"] = origin.vpc_endpoint_id
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
        "source": f"aws.{service}",
        "account": account_id,
        "time": _iso(when),
        "region": region,
        "resources": [],
        "detail": detail,
    }


# --- who made the call -------------------------------------------------------------------------------------


def root_identity(account_id: str) -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": account_id,
        "arn": f"arn:aws:iam::{account_id}:root",
        "accountId": account_id,
        "accessKeyId": "",
    }


def caller_identity(account_id: str, access_key_id: str, partition: str = "aws") -> dict[str, Any]:
    """CloudTrail's userIdentity for a caller of the emulated account, looked up from its access key: an IAM
    user's key, or the temporary key of an assumed-role session (such as a deployed function's role)."""
    from moto.core.utils import utcnow
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    iam = iam_backends[account_id][partition]
    for user in iam.users.values():
        if any(key.access_key_id == access_key_id for key in user.access_keys):
            return {
                "type": "IAMUser",
                "principalId": user.id,
                "arn": user.arn,
                "accountId": account_id,
                "accessKeyId": access_key_id,
                "userName": user.name,
            }
    for session in sts_backends[account_id][partition].assumed_roles:
        if session.access_key_id != access_key_id:
            continue
        role = iam.get_role_by_arn(session.role_arn)
        return {
            "type": "AssumedRole",
            "principalId": f"{role.id}:{session.session_name}",
            "arn": session.arn,
            "accountId": account_id,
            "accessKeyId": access_key_id,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": role.id,
                    "arn": role.arn,
                    "accountId": account_id,
                    "userName": role.name,
                },
                # moto keeps no session start; the time of the lookup (the call's) stands for it.
                "attributes": {"creationDate": _iso(utcnow().replace(tzinfo=UTC)), "mfaAuthenticated": "false"},
            },
        }
    raise LookupError(f"no IAM user key or role session {access_key_id} in account {account_id}")


# --- the deployed rules ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleTarget:
    arn: str
    role_arn: str | None = None


@dataclass(frozen=True)
class DeployedRule:
    """An EventBridge rule as read back from the emulator (ListRules, ListTargetsByRule)."""

    name: str
    arn: str
    state: str
    event_pattern: str | None
    targets: tuple[RuleTarget, ...]

    @property
    def target_arns(self) -> tuple[str, ...]:
        return tuple(target.arn for target in self.targets)

    @property
    def pattern(self) -> dict[str, Any]:
        return dict(json.loads(self.event_pattern)) if self.event_pattern else {}

    def matches(self, event: Mapping[str, Any]) -> bool:
        """EventBridge's verdict for an event on this rule's bus (moto's own event-pattern matcher: exact
        values, `anything-but` with values or a prefix, `prefix`, `exists` and `$or`, as the stack's rule uses)."""
        if self.state != "ENABLED" or not self.event_pattern:
            return False
        message: Any = dict(event)  # moto types it as its own event TypedDict; any JSON object is judged
        return EventPattern.load(self.event_pattern).matches_event(message)


def deployed_rules(events_client: Any, event_bus_name: str = "default") -> list[DeployedRule]:
    rules = []
    for page in events_client.get_paginator("list_rules").paginate(EventBusName=event_bus_name):
        for rule in page["Rules"]:
            targets = events_client.list_targets_by_rule(Rule=rule["Name"], EventBusName=event_bus_name)["Targets"]
            rules.append(
                DeployedRule(
                    name=rule["Name"],
                    arn=rule["Arn"],
                    state=rule.get("State", "ENABLED"),
                    event_pattern=rule.get("EventPattern"),
                    targets=tuple(RuleTarget(target["Arn"], target.get("RoleArn")) for target in targets),
                )
            )
    return rules


def role_may_put_events(account_id: str, role_arn: str, bus_arn: str) -> bool:
    """Whether the role's own policies (inline and managed) allow events:PutEvents on the bus, with no Deny."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account_id][role_arn.split(":")[1]].get_role_by_arn(role_arn)
    except Exception:
        return False
    documents = [*role.policies.values(), *role.managed_policies.values()]
    verdicts = {IAMPolicy(document).is_action_permitted("events:PutEvents", bus_arn) for document in documents}
    return PermissionResult.PERMITTED in verdicts and PermissionResult.DENIED not in verdicts


# --- recording calls ---------------------------------------------------------------------------------------


@dataclass
class Delivery:
    """One recorded event and the functions EventBridge ran for it (none when no deployed rule matched)."""

    event: dict[str, Any]
    invocations: list[Invocation] = field(default_factory=list)


class RecordedAccount(Protocol):
    """What a trail needs of the account its calls are made in (a LocalAccount is one): where and when the
    events happen, and EventBridge to deliver them to."""

    @property
    def account_id(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def now(self) -> datetime: ...

    def deliver_event(self, event: Mapping[str, Any]) -> list[Invocation]: ...


class Trail:
    """CloudTrail for calls made through `client(service)`, signed with one caller's credentials. Use as a
    context manager: on leaving the block every recorded event is delivered (`deliver`).

    `new_client(service)` makes a boto3 client signed with the caller's access key `access_key_id`, of its own:
    the trail registers its recorders on it, so it must not be a client that other code shares."""

    def __init__(
        self,
        account: RecordedAccount,
        access_key_id: str,
        new_client: Callable[[str], Any],
        origin: Origin | None = None,
    ) -> None:
        self._account = account
        self._origin = origin
        self._new_client = new_client
        self._identity = caller_identity(account.account_id, access_key_id)
        self.deliveries: list[Delivery] = []
        self._pending: list[dict[str, Any]] = []

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event recorded so far, delivered or not, in call order."""
        return [d.event for d in self.deliveries] + self._pending

    @property
    def invocations(self) -> list[Invocation]:
        return [i for d in self.deliveries for i in d.invocations]

    def client(self, service: str) -> Any:
        """A new boto3 client signed with this trail's caller; each call it makes is recorded."""
        recorded = self._new_client(service)
        calls: dict[int, dict[str, Any]] = {}

        def before(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
            calls[id(context)] = json.loads(json.dumps(params, default=str))

        def after(http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
            request = calls.pop(id(context), {})
            error = parsed.get("Error") if isinstance(parsed, dict) else None
            self.record(
                model.name,
                request,
                parsed,
                service=service,
                error=(str(error.get("Code")), str(error.get("Message", ""))) if error else None,
            )

        recorded.meta.events.register(f"before-parameter-build.{service}", before)
        recorded.meta.events.register(f"after-call.{service}", after)
        return recorded

    def record(
        self,
        operation: str,
        request: Mapping[str, Any] | None,
        response: Mapping[str, Any] | None = None,
        *,
        identity: Mapping[str, Any] | None = None,
        service: str = "iam",
        error: tuple[str, str] | None = None,
    ) -> dict[str, Any]:
        """Record one call by hand (for a caller with no credentials in the emulator, such as the root user:
        `identity=root_identity(account_id)`); returns its event, delivered with the others."""
        event = management_event(
            operation,
            request,
            response,
            identity=identity or self._identity,
            when=self._account.now,
            account_id=self._account.account_id,
            region=self._account.region,
            service=service,
            error=error,
            origin=self._origin,
        )
        self._pending.append(event)
        return event

    def deliver(self) -> list[Delivery]:
        """Deliver every event recorded since the last delivery, in order, to the deployed rules."""
        delivered = []
        while self._pending:
            event = self._pending.pop(0)
            delivered.append(Delivery(event, self._account.deliver_event(event)))
        self.deliveries += delivered
        return delivered

    def __enter__(self) -> Trail:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if kind is None:
            self.deliver()
