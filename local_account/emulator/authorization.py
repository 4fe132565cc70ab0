"""IAM policy evaluation as AWS does it for the resources our stack scopes: users by path, secrets and
topics by name prefix. moto judges most requests against the resource `*`, so scoped policies deny."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from botocore.awsrequest import AWSRequest
from moto.core.exceptions import AccessDeniedError, JsonRESTError, _RESTError
from moto.dynamodb.responses import DynamoHandler
from moto.events.responses import EventsHandler
from moto.iam.access_control import IAMPolicyStatement, IAMRequest, IAMRequestBase, PermissionResult
from moto.iam.responses import IamResponse
from moto.kms.responses import KmsResponse
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sns.responses import SNSResponse

from local_account.emulator.fidelity import active

# IAM actions whose resource is the group even though the request also names a user.
_GROUP_ACTIONS = frozenset(
    {
        "AddUserToGroup",
        "RemoveUserFromGroup",
        "CreateGroup",
        "DeleteGroup",
        "GetGroup",
        "UpdateGroup",
        "AttachGroupPolicy",
        "DetachGroupPolicy",
        "PutGroupPolicy",
        "GetGroupPolicy",
        "DeleteGroupPolicy",
        "ListGroupPolicies",
        "ListAttachedGroupPolicies",
    }
)
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


_original_is_action_permitted = IAMPolicyStatement.is_action_permitted


def _is_action_permitted(
    self: IAMPolicyStatement,
    action: str,
    resource: str = "*",
    principal: str | None = None,
    incoming_condition_values: dict[str, str] | None = None,
) -> PermissionResult:
    """An identity-policy statement judged like AWS: wildcards, NotAction/NotResource; conditions unjudged.

    Condition keys (request tags, resource tags, boundaries) are not evaluated here. A condition is read
    as satisfied on Allow and as not satisfied on Deny, so the local account never denies what AWS would
    allow; the conditions themselves are asserted on the synthesized template by the stack's tests.
    """
    if not active() or principal is not None:
        # Trust policies (sts:AssumeRole) keep moto's evaluation.
        return _original_is_action_permitted(self, action, resource, principal, incoming_condition_values)
    statement = self._statement
    if "NotAction" in statement:
        concerned = not _element_matches(statement, "NotAction", action)
    else:
        concerned = _element_matches(statement, "Action", action)
    if not concerned:
        return PermissionResult.NEUTRAL
    if "NotResource" in statement:
        resource_matches = not _element_matches(statement, "NotResource", resource)
    elif "Resource" in statement:
        resource_matches = _element_matches(statement, "Resource", resource)
    else:
        resource_matches = True
    if not resource_matches:
        return PermissionResult.NEUTRAL
    if statement.get("Effect") == "Deny":
        return PermissionResult.NEUTRAL if statement.get("Condition") else PermissionResult.DENIED
    return PermissionResult.PERMITTED


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
    if group_name and action in _GROUP_ACTIONS:
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
    if key_id.startswith("arn:"):
        return str(key_id)
    resource = key_id if key_id.startswith("alias/") else f"key/{key_id}"
    return f"arn:{self.partition}:kms:{self.region}:{self.current_account}:{resource}"


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


def _check_action_permitted(self: IAMRequestBase, resource: str) -> None:
    self._judged_resource = resource  # type: ignore[attr-defined]
    _original_check_action_permitted(self, resource)


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
    IAMRequest._raise_access_denied = _raise_access_denied  # type: ignore[method-assign]
    IAMRequestBase._create_aws_request = _create_aws_request  # type: ignore[method-assign]
    IAMPolicyStatement.is_action_permitted = _is_action_permitted  # type: ignore[method-assign]
    IamResponse._determine_resource = _iam_determine_resource  # type: ignore[method-assign]
    SecretsManagerResponse._determine_resource = _secrets_determine_resource  # type: ignore[attr-defined]
    SNSResponse._determine_resource = _sns_determine_resource  # type: ignore[attr-defined]
    EventsHandler._determine_resource = _events_determine_resource  # type: ignore[attr-defined]
    DynamoHandler._determine_resource = _dynamodb_determine_resource  # type: ignore[attr-defined]
    KmsResponse._determine_resource = _kms_determine_resource  # type: ignore[attr-defined]
