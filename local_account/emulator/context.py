"""The request context a call is judged in: the condition keys AWS sets from the caller, the request's
parameters and the resource's current state, for the actions and keys our stack's policies use."""

from __future__ import annotations

from typing import Any

from moto.iam.access_control import IAMRequestBase

# Actions on a user whose authorization carries iam:PermissionsBoundary (Service Authorization Reference,
# IAM actions table): from the request for CreateUser and PutUserPermissionsBoundary, the user's current
# boundary for the others. TagUser, UntagUser and AddUserToGroup do not list the key, so it is absent there.
_BOUNDARY_FROM_REQUEST = frozenset({"CreateUser", "PutUserPermissionsBoundary"})
_BOUNDARY_OF_USER = frozenset(
    {"DeleteUserPermissionsBoundary", "AttachUserPolicy", "DetachUserPolicy", "PutUserPolicy", "DeleteUserPolicy"}
)
# IAM actions whose resource is the group even though the request also names a user: the user's tags are not
# the resource's (iam:ResourceTag is absent there, as IAM groups carry no tags).
GROUP_ACTIONS = frozenset(
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
# Actions that take tag keys without values (aws:TagKeys only).
_UNTAG_ACTIONS = frozenset({"UntagUser", "UntagResource"})


def _param(response: Any, name: str) -> Any:
    try:
        return response._get_param(name)
    except Exception:  # a parameter the service's parser cannot read is a parameter the request lacks
        return None


def _tag_keys(context: dict[str, list[str]], tags: list[dict[str, str]], prefix: str) -> None:
    for tag in tags:
        context[f"{prefix}/{tag['Key']}".lower()] = [str(tag.get("Value", ""))]


def _request_tags(context: dict[str, list[str]], response: Any, action: str) -> None:
    if action in _UNTAG_ACTIONS:
        keys = _param(response, "TagKeys") or []
        if keys:
            context["aws:tagkeys"] = [str(k) for k in keys]
        return
    tags = _param(response, "Tags") or []
    if isinstance(tags, list) and tags and isinstance(tags[0], dict):
        _tag_keys(context, tags, "aws:RequestTag")
        context["aws:tagkeys"] = [str(tag["Key"]) for tag in tags]


def _iam_keys(context: dict[str, list[str]], request: IAMRequestBase, response: Any, action: str) -> None:
    backend = request.backend
    user_name = _param(response, "UserName")
    user = backend.users.get(user_name) if user_name and action != "CreateUser" else None
    if user is not None and action not in GROUP_ACTIONS:
        tags = backend.tagger.list_tags_for_resource(user.arn)["Tags"]
        _tag_keys(context, tags, "iam:ResourceTag")
        _tag_keys(context, tags, "aws:ResourceTag")
    boundary = None
    if action in _BOUNDARY_FROM_REQUEST:
        boundary = _param(response, "PermissionsBoundary")
    elif action in _BOUNDARY_OF_USER and user is not None:
        boundary = getattr(user, "permissions_boundary_arn", None)
    if boundary:
        context["iam:permissionsboundary"] = [str(boundary)]


def _secrets_keys(context: dict[str, list[str]], request: IAMRequestBase, response: Any, action: str) -> None:
    secret_id = _param(response, "SecretId")
    secret = response.backend.secrets.get(secret_id) if secret_id else None
    if secret is not None:
        _tag_keys(context, secret.tags or [], "secretsmanager:ResourceTag")
        _tag_keys(context, secret.tags or [], "aws:ResourceTag")
    key_id = _param(response, "KmsKeyId")
    if key_id:
        # The key as the request names it; a bare key id is the key's ARN in this account and region.
        arn = (
            key_id
            if key_id.startswith("arn:")
            else (
                f"arn:aws:kms:{request._region}:{request.account_id}:"
                + (key_id if key_id.startswith("alias/") else f"key/{key_id}")
            )
        )
        context["secretsmanager:kmskeyarn"] = [arn]
    force = _param(response, "ForceDeleteWithoutRecovery")
    if action == "DeleteSecret" and force is not None:
        context["secretsmanager:forcedeletewithoutrecovery"] = [str(bool(force)).lower()]


def _events_keys(context: dict[str, list[str]], response: Any, action: str) -> None:
    if action == "PutEvents":
        entries = _param(response, "Entries") or []
        sources = [str(entry["Source"]) for entry in entries if entry.get("Source")]
        if sources:
            context["events:source"] = sources
        detail_types = [str(entry["DetailType"]) for entry in entries if entry.get("DetailType")]
        if detail_types:
            context["events:detail-type"] = detail_types


# DynamoDB item actions whose request names the item's partition key (Key, or Item for PutItem).
_DYNAMODB_ITEM_ACTIONS = frozenset({"GetItem", "PutItem", "UpdateItem", "DeleteItem"})


def _dynamodb_keys(context: dict[str, list[str]], response: Any, action: str) -> None:
    """dynamodb:LeadingKeys: the partition key value of the item a single-item request names (AWS sets it from
    the request for these actions; a policy can so confine a role to a key space of one table)."""
    if action not in _DYNAMODB_ITEM_ACTIONS:
        return
    table_name = _param(response, "TableName")
    key = _param(response, "Item" if action == "PutItem" else "Key")
    table = response.dynamodb_backend.tables.get(table_name) if table_name else None
    if table is None or not isinstance(key, dict):
        return
    value = key.get(table.hash_key_attr)
    if isinstance(value, dict) and value:
        context["dynamodb:leadingkeys"] = [str(next(iter(value.values())))]


def request_context(request: IAMRequestBase, response: Any, principal_arn: str) -> dict[str, list[str]]:
    """Condition keys → values for one request. Keys the request does not carry are absent, so a condition
    on them is judged as AWS judges an absent key. kms:ViaService is never set: the local account's
    Secrets Manager and SNS do not call KMS for their callers, and a direct KMS call carries no such key."""
    context: dict[str, list[str]] = {
        "aws:principalarn": [principal_arn],
        "aws:principalaccount": [request.account_id],
        "aws:resourceaccount": [request.account_id],
        "aws:requestedregion": [request._region],
        # The local account stands for AWS's endpoints, which every SDK reaches over HTTPS.
        "aws:securetransport": ["true"],
    }
    if response is None:
        return context
    service, _, action = request._action.partition(":")
    _request_tags(context, response, action)
    if service == "iam":
        _iam_keys(context, request, response, action)
    elif service == "secretsmanager":
        _secrets_keys(context, request, response, action)
    elif service == "events":
        _events_keys(context, response, action)
    elif service == "dynamodb":
        _dynamodb_keys(context, response, action)
    return context
