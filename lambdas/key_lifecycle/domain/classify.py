"""Classification of CloudTrail IAM events (delivered by EventBridge) into changes made behind the stack's back.

Pure logic: the caller looks up the target user and passes it in; nothing here calls AWS.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.models.constants import (
    FUNCTIONS,
    MANAGED_BY_TAG,
    ROLE_NAME_PREFIX,
    KeyStatus,
)
from key_lifecycle.models.managed import in_managed_path, is_managed
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import UserState

# The IAM calls the detection rule forwards; anything else is ignored here as well.
WATCHED_EVENTS = (
    "CreateAccessKey",
    "UpdateAccessKey",
    "CreateUser",
    "AttachUserPolicy",
    "PutUserPolicy",
    "UpdateUser",
    "DeleteUserPermissionsBoundary",
    "CreateLoginProfile",
    # Ways to make a user look managed, or to widen what the temporary users' group or boundary grants.
    "TagUser",
    "UntagUser",
    "AddUserToGroup",
    "AttachGroupPolicy",
    "PutGroupPolicy",
    "DetachGroupPolicy",
    "DeleteGroupPolicy",
    "CreatePolicyVersion",
)
GROUP_POLICY_EVENTS = ("AttachGroupPolicy", "PutGroupPolicy", "DetachGroupPolicy", "DeleteGroupPolicy")


class ChangeKind(StrEnum):
    ROOT_KEY_CREATED = "root_access_key_created"
    KEY_CREATED_OUT_OF_BAND = "access_key_created_out_of_band"
    KEY_STATUS_CHANGED = "access_key_status_changed_out_of_band"
    USER_CREATED_IN_PATH = "user_created_in_managed_path"
    POLICY_ATTACHED = "policy_attached_to_managed_user"
    USER_UPDATED = "managed_user_renamed_or_moved"
    BOUNDARY_REMOVED = "boundary_removed_from_managed_user"
    LOGIN_PROFILE_CREATED = "console_password_for_managed_user"
    MANAGED_TAGS_CHANGED = "managed_user_tags_changed_out_of_band"
    ADDED_TO_GROUP = "user_added_to_group_out_of_band"
    GROUP_POLICY_CHANGED = "temporary_user_group_policy_changed"
    BOUNDARY_POLICY_CHANGED = "permissions_boundary_policy_changed"
    MADE_BY_STACK = "made_by_stack"  # the stack's own functions: expected, nothing to report
    UNRELATED = "unrelated"  # another principal on a user the stack does not manage: the audit's business
    FAILED_CALL = "failed_call"  # the call was refused (errorCode): nothing changed


# EventBridge detail-type of the event the stack publishes for each kind that is reported.
DETAIL_TYPES: dict[ChangeKind, str] = {
    ChangeKind.ROOT_KEY_CREATED: "Root Access Key Created",
    ChangeKind.KEY_CREATED_OUT_OF_BAND: "Access Key Created Out Of Band",
    ChangeKind.KEY_STATUS_CHANGED: "Access Key Changed Out Of Band",
    ChangeKind.USER_CREATED_IN_PATH: "User Created In Managed Path Out Of Band",
    ChangeKind.POLICY_ATTACHED: "Policy Attached To Temporary User",
    ChangeKind.USER_UPDATED: "Temporary User Changed Out Of Band",
    ChangeKind.BOUNDARY_REMOVED: "Permissions Boundary Removed From Temporary User",
    ChangeKind.LOGIN_PROFILE_CREATED: "Console Password Created For Temporary User",
    ChangeKind.MANAGED_TAGS_CHANGED: "Temporary User Tags Changed Out Of Band",
    ChangeKind.ADDED_TO_GROUP: "User Added To Group Out Of Band",
    ChangeKind.GROUP_POLICY_CHANGED: "Temporary User Group Policy Changed",
    ChangeKind.BOUNDARY_POLICY_CHANGED: "Permissions Boundary Policy Changed",
}


@dataclass(frozen=True)
class Classification:
    """What one CloudTrail event means for the stack. Holds ids, names and dates only, never a secret."""

    kind: ChangeKind
    event_name: str
    message: str
    user_name: str | None = None
    access_key_id: str | None = None
    actor: str | None = None  # the caller's ARN (for an assumed role, the role's ARN)
    event_time: str | None = None
    event_id: str | None = None
    severity: str = "info"  # "critical" | "high" | "medium" | "info"
    deactivate_key: bool = False  # the configured response asks for the key to be deactivated

    @property
    def reported(self) -> bool:
        return self.kind in DETAIL_TYPES

    @property
    def detail_type(self) -> str | None:
        return DETAIL_TYPES.get(self.kind)

    def as_detail(self) -> dict[str, Any]:
        """The EventBridge detail / notification body: every field a person or a rule filters on."""
        return {
            "kind": str(self.kind),
            "severity": self.severity,
            "event_name": self.event_name,
            "user_name": self.user_name,
            "access_key_id": self.access_key_id,
            "actor": self.actor,
            "event_time": self.event_time,
            "cloudtrail_event_id": self.event_id,
            "message": self.message,
            "response": "deactivate" if self.deactivate_key else "notify",
        }


def cloudtrail_detail(event: dict[str, Any]) -> dict[str, Any]:
    """The CloudTrail record of an EventBridge event (or the record itself, when given one)."""
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else event
    return detail if isinstance(detail, dict) else {}


def _params(detail: dict[str, Any]) -> dict[str, Any]:
    params = detail.get("requestParameters")
    return params if isinstance(params, dict) else {}


def actor_arn(detail: dict[str, Any]) -> str | None:
    """Who made the call: the role behind an assumed-role session (its ARN keeps the role's path), else the ARN."""
    identity = detail.get("userIdentity") or {}
    issuer = (identity.get("sessionContext") or {}).get("sessionIssuer") or {}
    arn = issuer.get("arn") if identity.get("type") == "AssumedRole" else None
    return arn or identity.get("arn")


# The functions' roles have fixed names, so the stack's own calls are told apart by exact role ARN: a role someone
# else creates under the stack's role path is not the stack (the rule's pattern and this check agree).


def stack_role_name(function: str, region: str) -> str:
    """The name of a function's role in the stack deployed to `region` (IAM role names are account-wide)."""
    return f"{ROLE_NAME_PREFIX}{function.replace('_', '-')}-{region}"


def stack_role_names(region: str) -> list[str]:
    return [stack_role_name(function, region) for function in FUNCTIONS]


def made_by_stack(detail: dict[str, Any], settings: Settings, region: str) -> bool:
    """A session of one of the stack's function roles (the stack deployed to `region`): exactly those roles, under
    the stack's role path."""
    identity = detail.get("userIdentity") or {}
    if identity.get("type") != "AssumedRole":
        return False
    arn = actor_arn(detail) or ""
    _, sep, resource = arn.partition(":role")
    names = {f"{settings.stack_role_path}{name}" for name in stack_role_names(region)}
    return bool(sep) and resource in names and ":iam::" in arn


def target_user_name(event: dict[str, Any]) -> str | None:
    """The IAM user an event acts on (after a rename, its new name); None for the root user."""
    detail = cloudtrail_detail(event)
    params = _params(detail)
    if detail.get("eventName") == "UpdateUser" and params.get("newUserName"):
        return str(params["newUserName"])
    if params.get("userName"):
        return str(params["userName"])
    identity = detail.get("userIdentity") or {}
    # CreateAccessKey/CreateLoginProfile without userName act on the caller itself.
    if identity.get("type") == "IAMUser" and identity.get("userName"):
        return str(identity["userName"])
    return None


def _new_key_id(detail: dict[str, Any]) -> str | None:
    response = detail.get("responseElements") or {}
    key = response.get("accessKey") if isinstance(response, dict) else None
    return str(key["accessKeyId"]) if isinstance(key, dict) and key.get("accessKeyId") else None


def _request_tags(params: dict[str, Any]) -> dict[str, str]:
    tags = params.get("tags") or []
    return {str(t.get("key")): str(t.get("value")) for t in tags if isinstance(t, dict)}


def classify(event: dict[str, Any], target: UserState | None, settings: Settings, *, region: str) -> Classification:
    """One CloudTrail IAM event → what it means. `target`: the user it acts on as it is now (None if gone/root);
    `region`: the stack's region (its roles' names carry it)."""
    detail = cloudtrail_detail(event)
    name = str(detail.get("eventName") or "")
    params = _params(detail)
    identity = detail.get("userIdentity") or {}
    user_name = target_user_name(event)
    common: dict[str, Any] = {
        "event_name": name,
        "user_name": user_name,
        "actor": actor_arn(detail),
        "event_time": detail.get("eventTime"),
        "event_id": detail.get("eventID"),
    }

    def result(kind: ChangeKind, message: str, **extra: Any) -> Classification:
        return Classification(kind=kind, message=message, **{**common, **extra})

    if name not in WATCHED_EVENTS:
        return result(ChangeKind.UNRELATED, f"{name or 'unknown event'} is not watched")
    if detail.get("errorCode"):
        return result(ChangeKind.FAILED_CALL, f"{name} was refused ({detail.get('errorCode')}); nothing changed")
    if made_by_stack(detail, settings, region):
        return result(ChangeKind.MADE_BY_STACK, f"{name} was made by the stack's own role")

    actor = common["actor"] or "an unknown principal"
    if name == "CreateAccessKey" and identity.get("type") == "Root" and not params.get("userName"):
        return result(
            ChangeKind.ROOT_KEY_CREATED,
            f"an access key was created for the account root user by {actor}; root keys should not exist "
            "(Security Hub IAM.4): delete it",
            user_name=None,
            access_key_id=_new_key_id(detail),
            severity="critical",
        )

    managed = target is not None and is_managed(target, settings)
    group = str(params.get("groupName") or "")
    ours = bool(settings.temporary_user_group) and group.lower() == str(settings.temporary_user_group).lower()
    if name in ("TagUser", "UntagUser"):
        keys = list(_request_tags(params)) if name == "TagUser" else [str(k) for k in params.get("tagKeys") or []]
        marker = MANAGED_BY_TAG in keys
        in_path = target is not None and in_managed_path(target, settings)
        if not (
            managed
            or (marker and in_path)
            or _request_tags(params).get(MANAGED_BY_TAG) == settings.managed_by_tag_value
        ):
            return result(ChangeKind.UNRELATED, f"{name} on user {user_name}, which this stack does not manage")
        verb = "added or changed" if name == "TagUser" else "removed"
        return result(
            ChangeKind.MANAGED_TAGS_CHANGED,
            f"tags {', '.join(sorted(keys))} of user {user_name} were {verb} by {actor}, outside the stack"
            + ("; the managed-by tag decides which users the stack manages" if marker else ""),
            severity="critical" if marker else "high",
        )
    if name == "AddUserToGroup":
        if not (ours or managed):
            return result(ChangeKind.UNRELATED, f"user {user_name} was added to {group}, not the stack's concern")
        what = (
            f"the temporary users' group {group}, whose policies it now holds"
            if ours
            else f"group {group}, outside the stack's control"
        )
        return result(
            ChangeKind.ADDED_TO_GROUP,
            f"user {user_name} was added to {what} by {actor}",
            severity="high",
        )
    if name in GROUP_POLICY_EVENTS:
        if not ours:
            return result(ChangeKind.UNRELATED, f"{name} on group {group}, not the temporary users' group")
        policy = params.get("policyArn") or params.get("policyName")
        return result(
            ChangeKind.GROUP_POLICY_CHANGED,
            f"{name} {policy} on the temporary users' group {group} by {actor}; the group's policies are the "
            "stack's allowed_managed_policies",
            user_name=None,
            severity="high",
        )
    if name == "CreatePolicyVersion":
        policy = str(params.get("policyArn") or "")
        if not settings.permissions_boundary_arn or policy != settings.permissions_boundary_arn:
            return result(ChangeKind.UNRELATED, f"a version of {policy or 'a policy'} was created")
        return result(
            ChangeKind.BOUNDARY_POLICY_CHANGED,
            f"a new version of the temporary users' permissions boundary {policy} was created by {actor}",
            user_name=None,
            severity="critical",
        )
    if name == "CreateUser":
        path = str(params.get("path") or "/")
        tagged = _request_tags(params).get(MANAGED_BY_TAG) == settings.managed_by_tag_value
        if path != settings.managed_user_path and not managed:
            return result(ChangeKind.UNRELATED, f"user {user_name} was created outside {settings.managed_user_path}")
        what = "tagged as managed by this stack" if tagged or managed else "without this stack's managed-by tag"
        return result(
            ChangeKind.USER_CREATED_IN_PATH,
            f"user {user_name} was created under {settings.managed_user_path} {what} by {actor}, not by the stack; "
            "it has no stored key and no expiry the stack set",
            severity="high",
        )

    if not managed:
        return result(ChangeKind.UNRELATED, f"{name} on user {user_name}, which this stack does not manage")

    if name == "CreateAccessKey":
        akid = _new_key_id(detail)
        # A key the stack created has a version in the user's secret; a key made by hand never has one.
        stored = target is not None and akid is not None and akid in classify_keys(target).stages
        if stored:
            return result(ChangeKind.MADE_BY_STACK, f"key {akid} is stored in the user's secret", access_key_id=akid)
        deactivate = settings.out_of_band_key_response == "deactivate"
        response = "it is being deactivated" if deactivate else "it is reported only (response: notify)"
        return result(
            ChangeKind.KEY_CREATED_OUT_OF_BAND,
            f"access key {akid} was created on managed user {user_name} by {actor}, outside the stack; it is "
            f"unmanaged (its secret is not stored, it is never rotated) and {response}",
            access_key_id=akid,
            severity="high",
            deactivate_key=deactivate and akid is not None,
        )
    if name == "UpdateAccessKey":
        akid = params.get("accessKeyId")
        status = params.get("status")
        return result(
            ChangeKind.KEY_STATUS_CHANGED,
            f"access key {akid} of managed user {user_name} was set {status} by {actor}, outside the stack",
            access_key_id=str(akid) if akid else None,
            severity="high" if status == KeyStatus.ACTIVE else "medium",
        )
    if name in ("AttachUserPolicy", "PutUserPolicy"):
        policy = params.get("policyArn") or params.get("policyName")
        return result(
            ChangeKind.POLICY_ATTACHED,
            f"policy {policy} was put directly on managed user {user_name} by {actor}; temporary users get "
            "permissions only through their group (Security Hub IAM.2)",
            severity="high",
        )
    if name == "UpdateUser":
        changes = [
            f"{what} {params[key]}"
            for key, what in (("newUserName", "renamed to"), ("newPath", "moved to path"))
            if params.get(key)
        ]
        return result(
            ChangeKind.USER_UPDATED,
            f"managed user {params.get('userName')} was {' and '.join(changes) or 'updated'} by {actor}; "
            "a user moved out of the managed path is no longer managed (nor cleaned up)",
            severity="high",
        )
    if name == "DeleteUserPermissionsBoundary":
        return result(
            ChangeKind.BOUNDARY_REMOVED,
            f"the permissions boundary of managed user {user_name} was removed by {actor}",
            severity="critical",
        )
    return result(
        ChangeKind.LOGIN_PROFILE_CREATED,
        f"a console password was created for managed user {user_name} by {actor}; temporary users are for "
        "programmatic access only",
        severity="high",
    )
