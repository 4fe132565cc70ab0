"""IAM's paging and credential report as AWS serves them, for moto: pages of MaxItems (default 100, at most
1,000) with IsTruncated/Marker, a credential report that is a snapshot taken when it was generated, and
concurrent requests served safely (one at a time)."""

from __future__ import annotations

import base64
import json
import threading
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from moto.core.responses import ActionResult, BaseResponse
from moto.core.serialize import TimestampSerializer
from moto.iam.exceptions import ReportNotPresentException, ValidationError
from moto.iam.models import IAMBackend, User
from moto.iam.responses import IamResponse
from moto.secretsmanager.exceptions import InvalidParameterException
from moto.secretsmanager.models import _matches
from moto.secretsmanager.responses import SecretsManagerResponse, _validate_filters

DEFAULT_MAX_ITEMS = 100
MAX_MAX_ITEMS = 1000
SECRETS_MAX_RESULTS = 100
# AWS generates a new report only when the last one is older than this; until then it serves the old one.
REPORT_REUSE = timedelta(hours=4)

_lock = threading.Lock()
_installed = False


def _max_items(response: IamResponse) -> int:
    raw = response._get_param("MaxItems")
    value = DEFAULT_MAX_ITEMS if raw is None else int(raw)
    if not 1 <= value <= MAX_MAX_ITEMS:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'maxItems' failed to satisfy constraint: "
            f"Member must have value less than or equal to {MAX_MAX_ITEMS}"
        )
    return value


def _start(response: IamResponse) -> int:
    marker = response._get_param("Marker")
    if not marker:
        return 0
    try:
        return int(base64.urlsafe_b64decode(marker.encode()).decode())
    except ValueError:
        raise ValidationError("Invalid Marker") from None


def _page(response: IamResponse, items: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    start, size = _start(response), _max_items(response)
    page = items[start : start + size]
    end = start + len(page)
    if end < len(items):
        return page, {"IsTruncated": True, "Marker": base64.urlsafe_b64encode(str(end).encode()).decode()}
    return page, {"IsTruncated": False}


def _list_users(self: IamResponse) -> ActionResult:
    users = list(self.backend.list_users(self._get_param("PathPrefix"), None, None))
    page, more = _page(self, users)
    return ActionResult({"Users": page, **more})


# moto's own, unpaged and rendered by its generic serializer (the tests compare the two).
moto_authorization_details = IamResponse.get_account_authorization_details


def _get_account_authorization_details(self: IamResponse) -> Any:
    details = self.backend.get_account_authorization_details(self._get_param("Filter", []))
    # One list of entries across the four kinds, paged as a whole (AWS pages the combined result too).
    entries = (
        [("UserDetailList", item) for item in details["users"]]
        + [("GroupDetailList", item) for item in details["groups"]]
        + [("RoleDetailList", item) for item in details["roles"]]
        + [("Policies", item) for item in details["managed_policies"]]
    )
    page, more = _page(self, entries)
    result: dict[str, Any] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    for kind, item in page:
        result[kind].append(item)
    users = result.pop("UserDetailList")
    status, headers, body = self.serialized(ActionResult({"UserDetailList": [], **result, **more}))
    if users and isinstance(body, str):
        # moto's generic serializer takes ~2 ms a user; a page of 1,000 is rendered directly, element for element
        # as moto renders it (tests/scale checks both parse to the same).
        rendered = _user_details_xml(self.backend, users)
        body = body.replace("<UserDetailList/>", f"<UserDetailList>{rendered}</UserDetailList>", 1)
    return status, headers, body


_TIMESTAMPS = TimestampSerializer(TimestampSerializer.TIMESTAMP_FORMAT_ISO8601)


def _members(items: list[str]) -> str:
    return "".join(f"<member>{item}</member>" for item in items)


def _user_details_xml(backend: IAMBackend, users: list[User]) -> str:
    groups_of: dict[str, list[str]] = defaultdict(list)
    for group in backend.groups.values():
        for member in group.users:
            groups_of[member.name].append(escape(group.name))
    parts = []
    for user in users:
        policies = _members(
            [
                f"<PolicyName>{escape(name)}</PolicyName><PolicyDocument>{escape(quote(document))}</PolicyDocument>"
                for name, document in user.policies.items()
            ]
        )
        attached = _members(
            [
                f"<PolicyName>{escape(policy.name)}</PolicyName><PolicyArn>{escape(policy.arn)}</PolicyArn>"
                for policy in user.managed_policies.values()
            ]
        )
        boundary = getattr(user, "permissions_boundary", None)
        boundary_xml = (
            "<PermissionsBoundary>"
            + "".join(f"<{k}>{escape(v)}</{k}>" for k, v in boundary.items())
            + "</PermissionsBoundary>"
            if boundary
            else ""
        )
        tags = backend.tagger.list_tags_for_resource(user.arn)["Tags"]
        tags_xml = (
            "<Tags>"
            + _members([f"<Key>{escape(t['Key'])}</Key><Value>{escape(t['Value'])}</Value>" for t in tags])
            + "</Tags>"
            if tags
            else ""
        )
        created = _TIMESTAMPS._convert_timestamp_to_str(user.create_date, TimestampSerializer.TIMESTAMP_FORMAT_ISO8601)
        parts.append(
            f"<member><Path>{escape(user.path)}</Path><UserName>{escape(user.name)}</UserName>"
            f"<UserId>{escape(user.id)}</UserId><Arn>{escape(user.arn)}</Arn><CreateDate>{created}</CreateDate>"
            + (f"<UserPolicyList>{policies}</UserPolicyList>" if policies else "<UserPolicyList/>")
            + (f"<GroupList>{_members(groups_of[user.name])}</GroupList>" if groups_of[user.name] else "<GroupList/>")
            + (
                f"<AttachedManagedPolicies>{attached}</AttachedManagedPolicies>"
                if attached
                else "<AttachedManagedPolicies/>"
            )
            + boundary_xml
            + tags_xml
            + "</member>"
        )
    return "".join(parts)


def _list_access_keys(self: IamResponse) -> ActionResult:
    user_name = self._get_param("UserName")
    if not user_name:
        user_name = self.backend.get_access_key_last_used(self.get_access_key())["user_name"]
    page, more = _page(self, list(self.backend.list_access_keys(user_name)))
    return ActionResult({"UserName": user_name, "AccessKeyMetadata": page, **more})


def _list_secrets(self: SecretsManagerResponse) -> str:
    """Pages served in O(page): moto filters and renders every secret for each page, which makes reading 5,000
    secrets 100 at a time quadratic. The token is a position in the backend's (insertion-ordered) secrets."""
    raw = self._get_param("MaxResults")
    if raw is not None and not 1 <= int(raw) <= SECRETS_MAX_RESULTS:
        raise InvalidParameterException(f"MaxResults must be between 1 and {SECRETS_MAX_RESULTS}")
    size = SECRETS_MAX_RESULTS if raw is None else int(raw)
    filters = self._get_param("Filters", if_none=[])
    _validate_filters(filters)
    include_planned_deletion = self._get_param("IncludePlannedDeletion", if_none=False)
    token = self._get_param("NextToken")
    try:
        position = int(token) if token else 0
    except ValueError:
        raise InvalidParameterException("Invalid NextToken") from None
    secrets = list(self.backend.secrets.values())
    page: list[dict[str, Any]] = []
    while position < len(secrets) and len(page) < size:
        secret = secrets[position]
        position += 1
        if getattr(secret, "deleted_date", None) and not include_planned_deletion:
            continue
        if _matches(secret, filters):
            page.append(secret.to_dict())
    more = any(
        _matches(secret, filters)
        for secret in secrets[position:]
        if include_planned_deletion or not getattr(secret, "deleted_date", None)
    )
    return json.dumps({"SecretList": page, "NextToken": str(position) if more else None})


# --- The credential report: generated once, served as it was until it is 4 hours old ----------------------

_HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,"
    "password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
)


def _when(value: Any) -> str:
    if value is None:
        return "N/A"
    stamp = value.timestamp if hasattr(value, "timestamp") and not isinstance(value, datetime) else value
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return str(stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"))


def _row(user: Any) -> str:
    slots = []
    for index in range(2):
        key = user.access_keys[index] if index < len(user.access_keys) else None
        if key is None:
            slots.append("false,N/A,N/A,N/A,N/A")
        else:
            active = "true" if key.status == "Active" else "false"
            last_used = _when(key.last_used)
            used_where = "us-east-1,iam" if key.last_used is not None else "N/A,N/A"
            slots.append(f"{active},{_when(key.create_date)},{last_used},{used_where}")
    return (
        f"{user.name},{user.arn},{_when(user.create_date)},false,not_supported,not_supported,not_supported,false,"
        f"{slots[0]},{slots[1]},false,N/A,false,N/A\n"
    )


def _now() -> datetime:
    from moto.core.utils import utcnow

    return utcnow().replace(tzinfo=UTC, microsecond=0)


def _generate_credential_report(self: IamResponse) -> ActionResult:
    backend: IAMBackend = self.backend
    now = _now()
    report = getattr(backend, "paged_credential_report", None)
    if report is not None and now - report[0] < REPORT_REUSE:
        return ActionResult({"State": "COMPLETE"})
    content = _HEADER + "".join(_row(user) for user in backend.users.values())
    backend.paged_credential_report = (now, content)  # type: ignore[attr-defined]
    backend.credential_report = True
    # AWS answers STARTED to the call that starts a generation; moto's generation is instant.
    return ActionResult({"State": "STARTED", "Description": "No report exists. Starting a new report generation task"})


def _get_credential_report(self: IamResponse) -> ActionResult:
    report = getattr(self.backend, "paged_credential_report", None)
    if report is None:
        raise ReportNotPresentException("Credential report not present")
    generated, content = report
    return ActionResult({"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": generated})


# --- Access key lookups: moto scans every key of every user per lookup, quadratic over a run ---------------

_original_key_last_used = IAMBackend.get_access_key_last_used


def _key_owner(backend: IAMBackend, access_key_id: str) -> User | None:
    # An index checked against the user on every hit and rebuilt on a miss: never stale, one scan per new key.
    index: dict[str, str] = backend.__dict__.setdefault("paged_key_owners", {})
    for attempt in range(2):
        user = backend.users.get(index.get(access_key_id, ""))
        if user is not None and any(key.access_key_id == access_key_id for key in user.access_keys):
            return user
        if attempt == 0:
            index.clear()
            index.update({key.access_key_id: u.name for u in backend.users.values() for key in u.access_keys})
    return None


def _get_user_from_access_key_id(self: IAMBackend, access_key_id: str) -> User | None:
    return _key_owner(self, access_key_id)


def _get_access_key_last_used(self: IAMBackend, access_key_id: str) -> dict[str, Any]:
    user = _key_owner(self, access_key_id)
    if user is None:
        # Another account's key, or none: moto's own search (and its error).
        return _original_key_last_used(self, access_key_id)
    key = next(key for key in user.access_keys if key.access_key_id == access_key_id)
    return {"user_name": key.user_name, "last_used": key.last_used}


# --- Concurrent requests: AWS serves them; moto's in-memory backends are not thread-safe --------------------

_request_lock = threading.RLock()
_original_dispatch = BaseResponse._dispatch


def _serialized_dispatch(self: BaseResponse, *args: Any, **kwargs: Any) -> Any:
    # The functions work on several users at once; one request at a time keeps moto's dicts consistent.
    with _request_lock:
        return _original_dispatch(self, *args, **kwargs)


def install() -> None:
    """Patch moto once per process. Unlike the other fidelity patches these are always on once installed:
    a client that pages correctly cannot tell the difference, and one that does not is the bug to find."""
    global _installed
    with _lock:
        if _installed:
            return
        IamResponse.list_users = _list_users  # type: ignore[method-assign]
        IamResponse.get_account_authorization_details = _get_account_authorization_details  # type: ignore[method-assign]
        IamResponse.list_access_keys = _list_access_keys  # type: ignore[method-assign]
        IamResponse.generate_credential_report = _generate_credential_report  # type: ignore[method-assign]
        IamResponse.get_credential_report = _get_credential_report  # type: ignore[method-assign]
        SecretsManagerResponse.list_secrets = _list_secrets  # type: ignore[method-assign]
        BaseResponse._dispatch = _serialized_dispatch  # type: ignore[method-assign]
        IAMBackend.get_user_from_access_key_id = _get_user_from_access_key_id  # type: ignore[method-assign]
        IAMBackend.get_access_key_last_used = _get_access_key_last_used  # type: ignore[method-assign]
        _installed = True
