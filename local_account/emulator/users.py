"""IAM user behaviours our functions depend on and moto lacks: DeleteUser refusing while anything is
attached, case-insensitive user names, permissions boundaries on users, service-specific credentials."""

from __future__ import annotations

import secrets
import string
from datetime import datetime
from typing import Any

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.iam.exceptions import (
    DeleteConflictException,
    EntityAlreadyExists,
    LimitExceededException,
    NoSuchEntity,
    ValidationError,
)
from moto.iam.models import IAMBackend, User
from moto.iam.responses import IamResponse

from local_account.emulator.fidelity import active

# Services that accept service-specific credentials (AWS refuses any other ServiceName).
SERVICE_SPECIFIC_CREDENTIAL_SERVICES = frozenset(
    {"codecommit.amazonaws.com", "cassandra.amazonaws.com", "bedrock.amazonaws.com"}
)
_MAX_CREDENTIALS_PER_SERVICE = 2


class ServiceSpecificCredential:
    def __init__(self, user: User, service_name: str):
        alphabet = string.ascii_uppercase + string.digits
        self.service_specific_credential_id = "ACCA" + "".join(secrets.choice(alphabet) for _ in range(17))
        self.user_name = user.name
        self.service_name = service_name
        self.service_user_name = f"{user.name}-at-{user.account_id}"
        self.service_password = secrets.token_urlsafe(33)
        self.status = "Active"
        self.create_date: datetime = utcnow()

    def metadata(self) -> dict[str, Any]:
        return {
            "UserName": self.user_name,
            "Status": self.status,
            "ServiceUserName": self.service_user_name,
            "CreateDate": self.create_date,
            "ServiceSpecificCredentialId": self.service_specific_credential_id,
            "ServiceName": self.service_name,
        }


def _credentials(user: User) -> list[ServiceSpecificCredential]:
    if not hasattr(user, "service_specific_credentials"):
        user.service_specific_credentials = []  # type: ignore[attr-defined]
    return user.service_specific_credentials  # type: ignore[attr-defined]


# --- DeleteUser refuses while the user still holds anything (AWS: DeleteConflict) ---------------------

_original_delete_user = IAMBackend.delete_user


def _delete_user(self: IAMBackend, user_name: str) -> None:
    if active():
        user = self.get_user(user_name)
        blockers = [
            (user.password is not None, "must delete login profile first."),
            (bool(user.access_keys), "must delete access keys first."),
            (bool(user.signing_certificates), "must delete signing certificates first."),
            (bool(user.ssh_public_keys), "must delete SSH public keys first."),
            (bool(_credentials(user)), "must delete service specific credentials first."),
            (bool(user.mfa_devices), "must delete MFA device first."),
            (bool(self.get_groups_for_user(user_name)), "must remove users from group first."),
            (bool(user.policies), "must delete policies first."),
            (bool(user.managed_policies), "must detach all policies first."),
        ]
        for blocked, message in blockers:
            if blocked:
                raise DeleteConflictException(f"Cannot delete entity, {message}")
    _original_delete_user(self, user_name)


# --- User names are unique regardless of case (AWS: EntityAlreadyExists) ------------------------------

_original_create_user = IAMBackend.create_user


def _create_user(
    self: IAMBackend,
    region_name: str,
    user_name: str,
    path: str = "/",
    tags: list[dict[str, str]] | None = None,
) -> User:
    if active():
        for existing in self.users:
            if existing.lower() == user_name.lower():
                raise EntityAlreadyExists(f"User with name {user_name} already exists.")
        _check_tags(self, tags or [], existing=[])
    return _original_create_user(self, region_name, user_name, path, tags)


# "User names are not distinguished by case" (IAM identifiers): a call naming ALICE acts on alice. moto looks
# names up exactly.
_original_get_user = IAMBackend.get_user


def _get_user(self: IAMBackend, name: str) -> User:
    if active() and name not in self.users:
        match = next((user for key, user in self.users.items() if key.lower() == name.lower()), None)
        if match is not None:
            return match
    return _original_get_user(self, name)


# --- Tags on users: moto checks role tags, not user tags -----------------------------------------------------
# AWS (Tag, IAM quotas): at most 50 tags per user; a key of 1-128 and a value of 0-256 characters, each of
# [\p{L}\p{Z}\p{N}_.:/=+\-@]; tag keys are case-insensitive.
MAX_TAGS_PER_USER = 50
_TAG_PUNCTUATION = frozenset("_.:/=+-@")


def _tag_characters_ok(text: str) -> bool:
    return all(ch.isalnum() or ch.isspace() or ch in _TAG_PUNCTUATION for ch in text)


def _check_tags(backend: IAMBackend, tags: list[dict[str, str]], existing: list[dict[str, str]]) -> None:
    backend._tag_verification(tags)  # count per request, key length and characters, value length, duplicates
    for tag in tags:
        if not _tag_characters_ok(tag.get("Value", "")):
            raise ValidationError(
                "1 validation error detected: Value at 'tags.X.member.value' failed to satisfy constraint: "
                "Member must satisfy regular expression pattern: [\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*"
            )
    keys = {tag["Key"].lower() for tag in existing} | {tag["Key"].lower() for tag in tags}
    if len(keys) > MAX_TAGS_PER_USER:
        raise LimitExceededException(f"Cannot have more than {MAX_TAGS_PER_USER} tags on a user.")


_original_tag_user = IAMBackend.tag_user


def _tag_user(self: IAMBackend, name: str, tags: list[dict[str, str]]) -> None:
    if active():
        user = self.get_user(name)
        _check_tags(self, tags, existing=self.tagger.list_tags_for_resource(user.arn)["Tags"])
        name = user.name
    _original_tag_user(self, name, tags)


# --- Permissions boundaries on users ------------------------------------------------------------------


def _boundary(user: User) -> dict[str, str] | None:
    arn = getattr(user, "permissions_boundary_arn", None)
    return {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn} if arn else None


def _set_boundary(backend: IAMBackend, user: User, policy_arn: str | None) -> None:
    if policy_arn and active():
        if not backend.policy_arn_regex.match(policy_arn):
            raise ValidationError(f"Value ({policy_arn}) for parameter PermissionsBoundary is invalid.")
        if policy_arn not in backend.managed_policies:
            raise NoSuchEntity(f"Scope ARN: {policy_arn} does not exist or is not attachable.")
    user.permissions_boundary_arn = policy_arn  # type: ignore[attr-defined]


_original_create_user_response = IamResponse.create_user


def _create_user_response(self: IamResponse) -> ActionResult:
    boundary = self._get_param("PermissionsBoundary")
    # Validate before the user exists, so a bad boundary leaves nothing behind (as in AWS).
    if boundary and active() and boundary not in self.backend.managed_policies:
        raise NoSuchEntity(f"Scope ARN: {boundary} does not exist or is not attachable.")
    result = _original_create_user_response(self)
    if boundary:
        _set_boundary(self.backend, self.backend.get_user(self._get_param("UserName")), boundary)
    return result


def put_user_permissions_boundary(self: IamResponse) -> ActionResult:
    user = self.backend.get_user(self._get_param("UserName"))
    _set_boundary(self.backend, user, self._get_param("PermissionsBoundary"))
    return EmptyResult()


def delete_user_permissions_boundary(self: IamResponse) -> ActionResult:
    user = self.backend.get_user(self._get_param("UserName"))
    user.permissions_boundary_arn = None  # type: ignore[attr-defined]
    return EmptyResult()


# --- Service-specific credentials ---------------------------------------------------------------------


class IAMServiceNotSupported(ValidationError):
    code = "NotSupportedService"


def _target_user(response: IamResponse) -> User:
    user_name = response._get_param("UserName")
    if user_name:
        return response.backend.get_user(user_name)
    caller = response.backend.get_user_from_access_key_id(response.get_access_key())
    if caller is None:
        raise NoSuchEntity("The caller is not an IAM user.")
    return caller


def create_service_specific_credential(self: IamResponse) -> ActionResult:
    user = self.backend.get_user(self._get_param("UserName"))
    service = self._get_param("ServiceName")
    if service not in SERVICE_SPECIFIC_CREDENTIAL_SERVICES:
        raise IAMServiceNotSupported(f"Service {service} is not supported for service-specific credentials.")
    same_service = [c for c in _credentials(user) if c.service_name == service]
    if len(same_service) >= _MAX_CREDENTIALS_PER_SERVICE:
        raise LimitExceededException(
            f"Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: {_MAX_CREDENTIALS_PER_SERVICE}"
        )
    credential = ServiceSpecificCredential(user, service)
    _credentials(user).append(credential)
    return ActionResult(
        {"ServiceSpecificCredential": credential.metadata() | {"ServicePassword": credential.service_password}}
    )


def list_service_specific_credentials(self: IamResponse) -> ActionResult:
    user = _target_user(self)
    service = self._get_param("ServiceName")
    listed = [c.metadata() for c in _credentials(user) if not service or c.service_name == service]
    return ActionResult({"ServiceSpecificCredentials": listed, "IsTruncated": False})


def delete_service_specific_credential(self: IamResponse) -> ActionResult:
    user = _target_user(self)
    credential_id = self._get_param("ServiceSpecificCredentialId")
    held = _credentials(user)
    for credential in held:
        if credential.service_specific_credential_id == credential_id:
            held.remove(credential)
            return EmptyResult()
    raise NoSuchEntity(f"No such credential {credential_id} exists")


def update_service_specific_credential(self: IamResponse) -> ActionResult:
    user = _target_user(self)
    credential_id = self._get_param("ServiceSpecificCredentialId")
    for credential in _credentials(user):
        if credential.service_specific_credential_id == credential_id:
            credential.status = self._get_param("Status")
            return EmptyResult()
    raise NoSuchEntity(f"No such credential {credential_id} exists")


def install() -> None:
    IAMBackend.delete_user = _delete_user  # type: ignore[method-assign]
    IAMBackend.create_user = _create_user  # type: ignore[method-assign]
    IAMBackend.get_user = _get_user  # type: ignore[method-assign]
    IAMBackend.tag_user = _tag_user  # type: ignore[method-assign]
    User.permissions_boundary = property(_boundary)  # type: ignore[attr-defined]
    # ListUsers never returns boundaries (AWS documents it); GetUser and the authorization details do.
    IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER["ListUsersResponse.Users.User.PermissionsBoundary"] = (
        IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER["ListUsersResponse.Users.User.Tags"]
    )
    IamResponse.create_user = _create_user_response  # type: ignore[method-assign]
    IamResponse.put_user_permissions_boundary = put_user_permissions_boundary  # type: ignore[attr-defined]
    IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary  # type: ignore[attr-defined]
    IamResponse.create_service_specific_credential = create_service_specific_credential  # type: ignore[attr-defined]
    IamResponse.list_service_specific_credentials = list_service_specific_credentials  # type: ignore[attr-defined]
    IamResponse.delete_service_specific_credential = delete_service_specific_credential  # type: ignore[attr-defined]
    IamResponse.update_service_specific_credential = update_service_specific_credential  # type: ignore[attr-defined]
