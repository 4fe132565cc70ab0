"""Role trust policies as AWS judges them: AssumeRole is refused unless the role's trust policy allows the caller
(Principal, Action, Condition), and a trust policy naming a role or user that does not exist is malformed.
moto lets any caller assume any role, even one that does not exist, and stores any principal."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping
from typing import Any

from moto.core.exceptions import _RESTError
from moto.iam.exceptions import MalformedPolicyDocument
from moto.iam.models import IAMBackend, iam_backends
from moto.organizations.models import organizations_backends
from moto.sts.models import sts_backends
from moto.sts.responses import TokenResponse

from local_account.emulator.authorization import aws_matches
from local_account.emulator.conditions import conditions_hold
from local_account.emulator.fidelity import active
from local_account.emulator.organizations import organization_of

ASSUME_ROLE = "sts:AssumeRole"
_PARTITION = "aws"


class AccessDenied(_RESTError):
    """STS's answer to an AssumeRole the trust policy does not allow: HTTP 403, code AccessDenied."""

    code = 403

    def __init__(self, message: str):
        super().__init__("AccessDenied", message)


def _document(document: Any) -> dict[str, Any]:
    if isinstance(document, Mapping):
        return dict(document)
    text = str(document)
    if not text.lstrip().startswith("{"):
        text = urllib.parse.unquote(text)  # IAM returns (and some callers send) the document URL-encoded
    return dict(json.loads(text))


def _statements(document: Any) -> list[dict[str, Any]]:
    statements = _document(document).get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    # A statement CloudFormation dropped (Fn::If to AWS::NoValue, as in the CDK bootstrap template) is no statement.
    return [statement for statement in statements if isinstance(statement, Mapping)]


def _as_list(values: Any) -> list[str]:
    return [str(v) for v in (values if isinstance(values, list) else [values])]


# --- who is asking ------------------------------------------------------------------------------------


def caller_arn(access_key_id: str, account_id: str) -> str:
    """The principal a request's access key belongs to, as `aws:PrincipalArn` gives it: the user's ARN, or the
    role's ARN for a role session. A key the emulator did not issue stands for moto's default caller."""
    sts = sts_backends[account_id][_PARTITION]
    session = sts.get_assumed_role_from_access_key(access_key_id)
    if session is not None:
        return str(session.role_arn)
    iam = iam_backends[account_id][_PARTITION]
    key = iam.access_keys.get(access_key_id)
    if key is not None and key.role_arn:
        return str(key.role_arn)
    user = iam.get_user_from_access_key_id(access_key_id)
    if user is not None:
        return str(user.arn)
    return f"arn:{_PARTITION}:iam::{account_id}:user/moto"


def principal_context(principal_arn: str) -> dict[str, list[str]]:
    """The global condition keys describing an AWS principal: its ARN, account and, in an organization, the
    organization's id and the principal's OU path (`o-…/r-…/ou-…/`)."""
    account = principal_arn.split(":")[4]
    context = {
        "aws:principalarn": [principal_arn],
        "aws:principalaccount": [account],
        "aws:principaltype": ["AssumedRole" if ":role/" in principal_arn else "User"],
        "aws:securetransport": ["true"],
    }
    org = organization_of(account)
    if org is not None:
        context["aws:principalorgid"] = [org.id]
        path = _org_path(account)
        if path:
            context["aws:principalorgpaths"] = [path]
    return context


def _org_path(account_id: str) -> str:
    for backends in list(organizations_backends.values()):
        backend = backends.get(_PARTITION) if hasattr(backends, "get") else None
        if getattr(backend, "org", None) is None:
            continue
        parents = {ou.id: ou.parent_id for ou in backend.ou}
        account = next((a for a in backend.accounts if a.id == account_id), None)
        if account is None:
            continue
        chain = [account.parent_id]
        while chain[-1] in parents:
            chain.append(parents[chain[-1]])
        return "/".join([backend.org.id, *(p for p in reversed(chain) if p)]) + "/"
    return ""


# --- the decision --------------------------------------------------------------------------------------


def _names_principal(statement: Mapping[str, Any], principal: tuple[str, str]) -> bool:
    """Whether a trust statement's Principal names the caller: `*`, the caller's ARN, its account (as an id or
    the account root's ARN) or, for a service, the service's name."""
    if "NotPrincipal" in statement:
        return False  # AWS forbids NotPrincipal with Allow in trust policies; never judged met here
    named = statement.get("Principal")
    if named == "*":
        return True
    if not isinstance(named, Mapping):
        return False
    kind, identity = principal
    for key, values in named.items():
        values = _as_list(values)
        if key == "AWS" and "*" in values:
            return True
        if key != kind:
            continue
        if identity in values:
            return True
        if kind == "AWS":
            account = identity.split(":")[4]
            if account in values or f"arn:{_PARTITION}:iam::{account}:root" in values:
                return True
    return False


def trust_allows(
    trust_policy: Any, principal: tuple[str, str], context: Mapping[str, list[str]], action: str = ASSUME_ROLE
) -> bool:
    """Whether a role's trust policy lets `principal` (`("AWS", arn)` or `("Service", name)`) perform `action`
    in the request `context` (lower-cased condition keys): an allowing statement and no denying one."""
    allowed = False
    for statement in _statements(trust_policy):
        if "NotAction" in statement:
            if any(aws_matches(p, action, case_sensitive=False) for p in _as_list(statement["NotAction"])):
                continue
        elif not any(aws_matches(p, action, case_sensitive=False) for p in _as_list(statement.get("Action", []))):
            continue
        if not _names_principal(statement, principal):
            continue
        if not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        allowed = True
    return allowed


def _role_by_arn(role_arn: str) -> Any:
    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    backend = iam_backends[parts[4]][_PARTITION]
    return next((role for role in backend.roles.values() if role.arn == role_arn), None)


_original_assume_role = TokenResponse.assume_role


def _assume_role(self: TokenResponse) -> Any:
    if active():
        role_arn = str(self._get_param("RoleArn"))
        caller = caller_arn(self.get_access_key(), self.current_account)
        role = _role_by_arn(role_arn)
        context = principal_context(caller)
        context["aws:resourceaccount"] = [role_arn.split(":")[4]] if role_arn.count(":") >= 4 else []
        if self._get_param("ExternalId"):
            context["sts:externalid"] = [str(self._get_param("ExternalId"))]
        if self._get_param("RoleSessionName"):
            context["sts:rolesessionname"] = [str(self._get_param("RoleSessionName"))]
        # A role that does not exist is refused like one whose trust does not name the caller.
        if role is None or not trust_allows(role.assume_role_policy_document, ("AWS", caller), context):
            raise AccessDenied(f"User: {caller} is not authorized to perform: {ASSUME_ROLE} on resource: {role_arn}")
    return _original_assume_role(self)


# --- a trust policy may name only principals that exist -------------------------------------------------


def check_principals_exist(document: Any) -> None:
    """IAM refuses a policy whose Principal names a role or user ARN that does not exist ("Invalid principal in
    policy"): it stores the principal's unique id, so it must resolve it. Account ids, account roots, services
    and `*` are not looked up."""
    for statement in _statements(document):
        named = statement.get("Principal")
        if not isinstance(named, Mapping):
            continue
        for value in _as_list(named.get("AWS", [])):
            parts = value.split(":")
            if len(parts) < 6 or parts[2] != "iam":
                continue
            resource = parts[5]
            backend = iam_backends[parts[4]][_PARTITION]
            exists = True
            if resource.startswith("role/"):
                exists = any(role.arn == value for role in backend.roles.values())
            elif resource.startswith("user/"):
                exists = any(user.arn == value for user in backend.users.values())
            if not exists:
                raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{value}"')


_original_create_role = IAMBackend.create_role
_original_update_assume_role_policy = IAMBackend.update_assume_role_policy


def _create_role(self: IAMBackend, role_name: str, assume_role_policy_document: str, *args: Any, **kwargs: Any) -> Any:
    if active():
        check_principals_exist(assume_role_policy_document)
    return _original_create_role(self, role_name, assume_role_policy_document, *args, **kwargs)


def _update_assume_role_policy(self: IAMBackend, role_name: str, policy_document: str) -> None:
    if active():
        check_principals_exist(policy_document)
    _original_update_assume_role_policy(self, role_name, policy_document)


def install() -> None:
    TokenResponse.assume_role = _assume_role  # type: ignore[method-assign]
    IAMBackend.create_role = _create_role  # type: ignore[method-assign]
    IAMBackend.update_assume_role_policy = _update_assume_role_policy  # type: ignore[method-assign]
