"""IAM policy evaluation as AWS does it for the resources our stack scopes: users by path, secrets and
topics by name prefix. moto judges most requests against the resource `*`, so scoped policies deny."""

from __future__ import annotations

import json
import re
from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from botocore.awsrequest import AWSRequest
from moto.core.authorization import ActionAuthenticatorMixin
from moto.core.exceptions import AccessDeniedError, JsonRESTError, _RESTError
from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.iam.access_control import AssumedRoleAccessKey, IAMPolicy, IAMRequest, IAMRequestBase, PermissionResult
from moto.iam.responses import IamResponse
from moto.kms.responses import KmsResponse
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sns.models import sns_backends
from moto.sns.responses import SNSResponse
from moto.ssm.responses import SimpleSystemManagerResponse
from moto.stepfunctions.responses import StepFunctionResponse

from local_account.emulator.conditions import Context, conditions_hold
from local_account.emulator.context import GROUP_ACTIONS, request_context
from local_account.emulator.fidelity import active
from local_account.emulator.organizations import organization_of

# IAM actions that act on the caller's own user when UserName is omitted.
_SELF_USER_ACTIONS = frozenset(
    {"CreateAccessKey", "DeleteAccessKey", "UpdateAccessKey", "ListAccessKeys", "GetUser", "ListSSHPublicKeys"}
)


@lru_cache(maxsize=1024)
def _glob(pattern: str, case_sensitive: bool) -> re.Pattern[str]:
    # AWS wildcards: `*` any run of characters (including `/` and `:`), `?` exactly one character.
    # Everything else is literal, unlike moto's regex, where `.` and `?` mean something.
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{regex}$", (0 if case_sensitive else re.IGNORECASE) | re.DOTALL)


def aws_matches(pattern: str, value: str, *, case_sensitive: bool = True) -> bool:
    """Whether a policy Action/Resource pattern covers `value` (actions compare case-insensitively)."""
    return _glob(pattern, case_sensitive).match(value) is not None


def _element_matches(statement: dict[str, Any], element: str, value: str) -> bool:
    patterns = statement[element]
    if isinstance(patterns, str):
        patterns = [patterns]
    case_sensitive = element in ("Resource", "NotResource")
    return any(aws_matches(p, value, case_sensitive=case_sensitive) for p in patterns)


# The policies of one request, with the principal and the request context they are judged in.
Statement = dict[str, Any]


def _statements(document: Any) -> list[Statement]:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _principal_matches(statement: Statement, principal: tuple[str, str], account: str) -> bool:
    """Whether a resource policy statement's Principal names the caller: `*`, its ARN, its account or, for a
    service, the service's name. Naming the caller's account takes in all its principals for a Deny, and for
    an Allow only from another account (which the caller's own identity policies must allow too): in the
    resource's own account, an allow to the account root delegates to IAM and grants nothing by itself."""
    named = statement.get("Principal")
    if named == "*":
        return True
    if not isinstance(named, dict):
        return False
    kind, arn = principal
    caller_account = arn.split(":")[4] if kind == "AWS" else ""
    for key, values in named.items():
        values = values if isinstance(values, list) else [values]
        if key == "AWS" and "*" in values:
            return True  # {"AWS": "*"} is the same as "*": every principal, services included
        if key == kind and arn in values:
            return True
        names_account = caller_account in values or any(
            str(v).startswith("arn:") and str(v).endswith(f":iam::{caller_account}:root") for v in values
        )
        if key == "AWS" and names_account and (statement.get("Effect") == "Deny" or caller_account != account):
            return True
    return False


def statement_applies(
    statement: Statement, action: str, resource: str, context: Context, principal: tuple[str, str] | None = None
) -> bool:
    """Whether a statement covers the request: action, resource, (resource policies) principal, conditions.
    Wildcards as AWS's: `*` and `?` only, actions without regard to case."""
    if "NotAction" in statement:
        if _element_matches(statement, "NotAction", action):
            return False
    elif not _element_matches(statement, "Action", action):
        return False
    if "NotResource" in statement:
        if _element_matches(statement, "NotResource", resource):
            return False
    elif "Resource" in statement and not _element_matches(statement, "Resource", resource):
        return False
    if principal is not None and not _principal_matches(statement, principal, _context_account(context)):
        return False
    return conditions_hold(statement.get("Condition"), context)


def _context_account(context: Context) -> str:
    return next(iter(context.get("aws:resourceaccount", ())), "")


def judge(
    statements: list[Statement], action: str, resource: str, context: Context, principal: tuple[str, str] | None = None
) -> PermissionResult:
    """One policy's verdict: DENIED on an explicit deny, PERMITTED on an allow, NEUTRAL otherwise."""
    allowed = False
    for statement in statements:
        if statement_applies(statement, action, resource, context, principal):
            if statement.get("Effect") == "Deny":
                return PermissionResult.DENIED
            allowed = True
    return PermissionResult.PERMITTED if allowed else PermissionResult.NEUTRAL


def _iam_user_arn(response: IamResponse, user_name: str, path: str | None = None) -> str:
    backend = response.backend
    user = backend.users.get(user_name)
    if path is None:
        # An unknown user is judged without a path, so path-scoped policies deny it (as AWS does).
        path = user.path if user is not None else "/"
    return f"arn:{response.partition}:iam::{response.current_account}:user{path}{user_name}"


def _iam_resource(response: IamResponse) -> str | None:
    action = response._get_action()
    params = response.params or {}
    partition, account = response.partition, response.current_account
    group_name = params.get("GroupName")
    if group_name and action in GROUP_ACTIONS:
        group = response.backend.groups.get(group_name)
        path = params.get("Path") if action == "CreateGroup" else (group.path if group else "/")
        return f"arn:{partition}:iam::{account}:group{path or '/'}{group_name}"
    user_name = params.get("UserName")
    if user_name:
        return _iam_user_arn(response, user_name, params.get("Path", "/") if action == "CreateUser" else None)
    if action == "GetAccessKeyLastUsed" and params.get("AccessKeyId"):
        owner = response.backend.get_user_from_access_key_id(params["AccessKeyId"])
        return owner.arn if owner is not None else "*"
    if action in _SELF_USER_ACTIONS:
        caller = response.backend.get_user_from_access_key_id(response.get_access_key())
        return caller.arn if caller is not None else "*"
    if action == "DeleteVirtualMFADevice" and params.get("SerialNumber"):
        return str(params["SerialNumber"])
    if params.get("RoleName"):
        return None  # moto already resolves roles
    if params.get("PolicyArn"):
        return str(params["PolicyArn"])
    return "*"


_original_iam_determine_resource = IamResponse._determine_resource


def _iam_determine_resource(self: IamResponse) -> str:
    if active():
        resource = _iam_resource(self)
        if resource is not None:
            return resource
    return _original_iam_determine_resource(self)


def _secrets_determine_resource(self: SecretsManagerResponse) -> str:
    if not active():
        return "*"
    secret_id = self._get_param("SecretId") or self._get_param("Name")
    if not secret_id:
        return "*"
    secret = self.backend.secrets.get(secret_id)
    if secret is not None:
        return str(secret.arn)
    if str(secret_id).startswith("arn:"):
        return str(secret_id)
    # A secret not created yet: AWS judges its future ARN, whose 6-character suffix is unknown.
    return f"arn:{self.partition}:secretsmanager:{self.region}:{self.current_account}:secret:{secret_id}-??????"


def _sns_determine_resource(self: SNSResponse) -> str:
    if not active():
        return "*"
    arn = self._get_param("TopicArn") or self._get_param("TargetArn")
    if arn:
        return str(arn)
    if self._get_action() == "CreateTopic" and self._get_param("Name"):
        return f"arn:{self.partition}:sns:{self.region}:{self.current_account}:{self._get_param('Name')}"
    return "*"


def _events_determine_resource(self: EventsHandler) -> str:
    if not active():
        return "*"
    prefix = f"arn:{self.partition}:events:{self.region}:{self.current_account}:event-bus/"
    if self._get_action() == "PutEvents":
        buses = {entry.get("EventBusName") or "default" for entry in self._get_param("Entries") or []}
        if len(buses) == 1:
            bus = buses.pop()
            return bus if bus.startswith("arn:") else prefix + bus
        return "*"
    bus = self._get_param("EventBusName") or self._get_param("Name")
    return (bus if bus.startswith("arn:") else prefix + bus) if bus else "*"


def _dynamodb_determine_resource(self: DynamoHandler) -> str:
    if not active():
        return "*"
    table = self._get_param("TableName")
    if not table:
        return "*"
    return (
        table
        if table.startswith("arn:")
        else f"arn:{self.partition}:dynamodb:{self.region}:{self.current_account}:table/{table}"
    )


def _kms_determine_resource(self: KmsResponse) -> str:
    if not active():
        return "*"
    key_id = self._get_param("KeyId")
    if not key_id:
        return "*"
    alias = key_id.split(":", 5)[-1] if key_id.startswith("arn:") else key_id
    if alias.startswith("alias/") and self._get_action() not in _ALIAS_ACTIONS:
        # AWS authorizes an operation on a key named by its alias against the key itself (the alias is only a name);
        # the alias operations themselves are authorized on the alias.
        target = self.kms_backend.get_key_id_from_alias(alias)
        if target is not None:
            return f"arn:{self.partition}:kms:{self.region}:{self.current_account}:key/{target}"
    if key_id.startswith("arn:"):
        return str(key_id)
    resource = key_id if key_id.startswith("alias/") else f"key/{key_id}"
    return f"arn:{self.partition}:kms:{self.region}:{self.current_account}:{resource}"


_ALIAS_ACTIONS = frozenset({"CreateAlias", "DeleteAlias", "UpdateAlias", "ListAliases"})


def _states_determine_resource(self: StepFunctionResponse) -> str:
    """The state machine's or execution's ARN (a schedule's role may start its own state machine only)."""
    if not active():
        return "*"
    for name in ("stateMachineArn", "executionArn", "mapRunArn"):
        value = self._get_param(name)
        if value:
            return str(value)
    return "*"


def _ssm_determine_resource(self: SimpleSystemManagerResponse) -> str:
    """A parameter's ARN (the CDK bootstrap's deploy role may read only its version parameter)."""
    if not active():
        return "*"
    name = self._get_param("Name")
    names = self._get_param("Names") or ([name] if name else [])
    if len(names) != 1:
        return "*"
    name = str(names[0])
    if name.startswith("arn:"):
        return name
    return f"arn:{self.partition}:ssm:{self.region}:{self.current_account}:parameter/{name.lstrip('/')}"


_original_create_aws_request = IAMRequestBase._create_aws_request


def _create_aws_request(self: IAMRequestBase) -> AWSRequest:
    """SigV4 signs the body as sent. moto substitutes its parsed parameters for an empty body, which for
    REST services (Lambda, Scheduler) are the headers, so every signed GET as a real principal fails."""
    request = _original_create_aws_request(self)
    content_type = self._headers.get("Content-Type", "") or ""
    if active() and not self._body and "x-www-form-urlencoded" not in content_type:
        # A form body arrives parsed (moto re-encodes it from the parameters); anything else empty is empty.
        request.data = b""
    return request


@lru_cache(maxsize=64)
def _is_json_protocol(signing_name: str) -> bool:
    import botocore.session

    try:
        model = botocore.session.get_session().get_service_model(signing_name)
    except Exception:
        return False
    return model.protocol in ("json", "rest-json")


# Query-protocol services that name their access-denied error differently.
_QUERY_ACCESS_DENIED_CODES = {"sns": "AuthorizationError"}

_original_check_action_permitted = IAMRequestBase.check_action_permitted
_original_authorize = ActionAuthenticatorMixin._authenticate_and_authorize_normal_action
# The service response being authorized: its parameters and backend give the request context.
_current_response: ContextVar[Any] = ContextVar("authorized_response", default=None)


def _authorize(self: Any, resource: str = "*") -> None:
    token = _current_response.set(self)
    try:
        _original_authorize(self, resource)
    finally:
        _current_response.reset(token)


def _check_action_permitted(self: IAMRequestBase, resource: str) -> None:
    """AWS's policy evaluation logic for a request in one account: an explicit deny in any policy wins;
    otherwise an identity policy allow within the caller's permissions boundary (the intersection of the
    two), or an allow in the resource's own policy (SNS topics), permits the request."""
    self._judged_resource = resource  # type: ignore[attr-defined]
    if not active():
        _original_check_action_permitted(self, resource)
        return
    if self._action == "sts:GetCallerIdentity":  # always allowed, even under an explicit deny
        return
    principal_arn, boundary = _caller(self)
    context = request_context(self, _current_response.get(), principal_arn)
    _organization_keys(context, self.account_id, resource)
    policies = [_statements(IAMPolicy(policy)._policy_json) for policy in self._access_key.collect_policies()]
    resource_policy = _resource_policy(self, resource)
    # A request for another account's resource needs an allow on both sides: the caller's identity policies
    # and the resource's policy (AWS: "Cross-account policy evaluation logic").
    cross_account = _resource_account(resource) not in ("", self.account_id)
    if cross_account:
        context["aws:resourceaccount"] = [_resource_account(resource)]
    for action in _authorized_actions(self._action, context):
        identity = [judge(statements, action, resource, context) for statements in policies]
        within_boundary = PermissionResult.PERMITTED if boundary is None else judge(boundary, action, resource, context)
        by_resource = (
            PermissionResult.NEUTRAL
            if resource_policy is None
            else judge(resource_policy, action, resource, context, ("AWS", principal_arn))
        )
        if PermissionResult.DENIED in (*identity, within_boundary, by_resource):
            self._action = action
            self._raise_access_denied()
        by_identity = PermissionResult.PERMITTED in identity and within_boundary == PermissionResult.PERMITTED
        if cross_account and action != "sts:AssumeRole":
            permitted = by_identity and by_resource == PermissionResult.PERMITTED
        else:
            permitted = by_identity or by_resource == PermissionResult.PERMITTED
        if not permitted:
            self._action = action
            self._raise_access_denied()
    # The role's trust policy, the resource side of AssumeRole (in its own account or another), is judged when
    # the request is handled, enforcement on or off (`emulator/trust.py`).


def _authorized_actions(action: str, context: Context) -> list[str]:
    """The IAM actions one API call is authorized as. The Service Authorization Reference's operations table
    maps the CreateUser operation to "iam:CreateUser" and "iam:TagUser" (Access level: Tagging, Write) and to
    nothing else: a CreateUser with Tags needs iam:TagUser too, while one with a PermissionsBoundary is not
    authorized as iam:PutUserPermissionsBoundary (the boundary is judged by CreateUser's own
    iam:PermissionsBoundary condition key)."""
    if action == "iam:CreateUser" and "aws:tagkeys" in context:
        return [action, "iam:TagUser"]
    return [action]


def _caller(request: IAMRequestBase) -> tuple[str, list[Statement] | None]:
    """The caller's principal ARN (a session's role, as aws:PrincipalArn gives it) and its permissions
    boundary's statements (None without a boundary; a boundary policy that is gone allows nothing)."""
    backend = request.backend
    key = request._access_key
    if isinstance(key, AssumedRoleAccessKey):
        role = backend.get_role(key._owner_role_name)
        arn, boundary_arn = str(role.arn), role.permissions_boundary_arn
    else:
        user = backend.get_user(key._owner_user_name)
        arn, boundary_arn = str(user.arn), getattr(user, "permissions_boundary_arn", None)
    if not boundary_arn:
        return arn, None
    policy = backend.managed_policies.get(boundary_arn)
    return arn, (_statements(IAMPolicy(policy)._policy_json) if policy is not None else [])


def _organization_keys(context: dict[str, list[str]], caller_account: str, resource: str) -> None:
    """aws:ResourceAccount as the resource's ARN names it, and, for accounts in an organization, aws:PrincipalOrgID
    and aws:ResourceOrgID (the hub's AssumeRole grant on the spoke roles is scoped by the latter)."""
    owner = _resource_account(resource) or caller_account
    context["aws:resourceaccount"] = [owner]
    for key, account in (("aws:principalorgid", caller_account), ("aws:resourceorgid", owner)):
        org = organization_of(account)
        if org is not None:
            context[key] = [org.id]


def _resource_account(resource: str) -> str:
    parts = resource.split(":")
    return parts[4] if resource.startswith("arn:") and len(parts) > 5 else ""


def _resource_policy(request: IAMRequestBase, resource: str) -> list[Statement] | None:
    """The resource-based policy AWS also judges the request by: a topic's access policy (the topic may be
    another account's: moto's SNS finds a topic by its ARN's account)."""
    if request._service != "sns" or not _resource_account(resource):
        return None
    topic = sns_backends[_resource_account(resource)][resource.split(":")[3]].topics.get(resource)
    return None if topic is None else _statements(topic._policy_json)


def service_may(service: str, action: str, resource: str, policy: Any, *, account: str, source_arn: str) -> bool:
    """Whether a resource policy lets an AWS service principal act on the resource for a source in
    `account` (aws:SourceAccount, aws:SourceArn), as when CloudWatch publishes an alarm to a topic. A
    service principal has no identity policies: only the resource policy can allow it."""
    context = {
        "aws:sourceaccount": [account],
        # The older key SNS's default topic policy is written with (`AWS:SourceOwner` = the topic's account),
        # set by the services that publish for a resource of theirs, as aws:SourceAccount is.
        "aws:sourceowner": [account],
        "aws:sourcearn": [source_arn],
        "aws:resourceaccount": [account],
        "aws:principalservicename": [service],
        "aws:securetransport": ["true"],
    }
    return judge(_statements(policy), action, resource, context, ("Service", service)) == PermissionResult.PERMITTED


_original_raise_access_denied = IAMRequest._raise_access_denied


def _raise_access_denied(self: IAMRequest) -> None:
    """AccessDenied as the service returns it: JSON services answer `AccessDeniedException` in JSON (moto
    answers XML, which their SDKs cannot parse), and the message names the resource."""
    if not active():
        _original_raise_access_denied(self)
        return
    resource = getattr(self, "_judged_resource", "*")
    message = f"User: {self._access_key.arn} is not authorized to perform: {self._action} on resource: {resource}"
    if _is_json_protocol(self._service):
        error = JsonRESTError("AccessDeniedException", message)
        error.code = 400 if self._service == "secretsmanager" else 403
        raise error
    denied = AccessDeniedError(user_arn=self._access_key.arn, action=self._action)
    _RESTError.__init__(denied, _QUERY_ACCESS_DENIED_CODES.get(self._service, "AccessDenied"), message)
    raise denied


def install() -> None:
    IAMRequestBase.check_action_permitted = _check_action_permitted  # type: ignore[method-assign]
    ActionAuthenticatorMixin._authenticate_and_authorize_normal_action = _authorize  # type: ignore[method-assign]
    IAMRequest._raise_access_denied = _raise_access_denied  # type: ignore[method-assign]
    IAMRequestBase._create_aws_request = _create_aws_request  # type: ignore[method-assign]
    IamResponse._determine_resource = _iam_determine_resource  # type: ignore[method-assign]
    SecretsManagerResponse._determine_resource = _secrets_determine_resource  # type: ignore[attr-defined]
    SNSResponse._determine_resource = _sns_determine_resource  # type: ignore[attr-defined]
    EventsHandler._determine_resource = _events_determine_resource  # type: ignore[attr-defined]
    DynamoHandler._determine_resource = _dynamodb_determine_resource  # type: ignore[attr-defined]
    KmsResponse._determine_resource = _kms_determine_resource  # type: ignore[attr-defined]
    SimpleSystemManagerResponse._determine_resource = _ssm_determine_resource  # type: ignore[attr-defined]
    StepFunctionResponse._determine_resource = _states_determine_resource  # type: ignore[attr-defined]
