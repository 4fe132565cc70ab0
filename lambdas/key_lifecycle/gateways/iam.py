"""IAM: bulk reads of users, and every write the lifecycle needs on a user, its keys and its credentials."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from key_lifecycle.gateways.credential_report import fetch_report
from key_lifecycle.gateways.errors import AwsError, call, paginate
from key_lifecycle.models.credential_report import CredentialReport
from key_lifecycle.models.snapshot import AccessKeyState, UserState

BULK_PAGE_SIZE = 1000


@dataclass(frozen=True)
class NewAccessKey:
    """A key just created. The secret is kept out of repr() so that no log line or traceback can show it."""

    user_name: str
    access_key_id: str
    create_date: datetime
    secret_access_key: str = field(repr=False)


def user_state(user: dict[str, Any], tags: dict[str, str]) -> UserState:
    """A user of IAM's answers (GetUser, CreateUser, GetAccountAuthorizationDetails' UserDetailList)."""
    return UserState(
        user_name=user["UserName"],
        user_id=user.get("UserId", ""),
        arn=user["Arn"],
        path=user.get("Path", "/"),
        create_date=user["CreateDate"],
        tags=tags,
        groups=tuple(user.get("GroupList", [])),
        permissions_boundary_arn=(user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
    )


class IamGateway:
    def __init__(self, client: Any) -> None:
        self._client = client

    def _unless_gone(self, operation: str, **params: Any) -> bool:
        """One write; False if what it acts on is already gone (NoSuchEntity), which is the wanted end state."""
        try:
            call(self._client, operation, **params)
        except AwsError as exc:
            if exc.gone:
                return False
            raise
        return True

    # Reads -----------------------------------------------------------------------------------------------

    def user_details(self) -> Iterator[UserState]:
        """Every user of the account with path, tags, groups and boundary: 1,000 users a call (IAM's maximum;
        its default page is 100)."""
        for detail in paginate(
            self._client,
            "GetAccountAuthorizationDetails",
            "UserDetailList",
            Filter=["User"],
            PaginationConfig={"PageSize": BULK_PAGE_SIZE},
        ):
            yield user_state(detail, {t["Key"]: t["Value"] for t in detail.get("Tags", [])})

    def credential_report(
        self, now: datetime, *, sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic
    ) -> CredentialReport | None:
        return fetch_report(self._client, now, sleep=sleep, clock=clock)

    def list_access_keys(self, user_name: str) -> list[AccessKeyState]:
        """The user's keys, without their last use (one more call a key: `access_key_last_used`)."""
        return [
            AccessKeyState(access_key_id=key["AccessKeyId"], status=key["Status"], create_date=key["CreateDate"])
            for key in paginate(self._client, "ListAccessKeys", "AccessKeyMetadata", UserName=user_name)
        ]

    def access_key_last_used(self, access_key_id: str) -> datetime | None:
        response = call(self._client, "GetAccessKeyLastUsed", AccessKeyId=access_key_id)
        last_used: datetime | None = response.get("AccessKeyLastUsed", {}).get("LastUsedDate")
        return last_used

    def key_last_used(self, access_key_id: str) -> tuple[datetime | None, str | None, str | None]:
        """GetAccessKeyLastUsed: when, in which service and region (IAM writes "N/A" for a key never used)."""
        used = call(self._client, "GetAccessKeyLastUsed", AccessKeyId=access_key_id).get("AccessKeyLastUsed", {})
        service, region = used.get("ServiceName"), used.get("Region")
        return (
            used.get("LastUsedDate"),
            service if service and service != "N/A" else None,
            region if region and region != "N/A" else None,
        )

    def groups_of(self, user_name: str) -> list[dict[str, Any]]:
        return list(paginate(self._client, "ListGroupsForUser", "Groups", UserName=user_name))

    def get_user(self, user_name: str) -> UserState | None:
        """The user as it is now (GetUser, then ListUserTags for every tag), without keys; None if it does not
        exist."""
        try:
            found: dict[str, Any] = call(self._client, "GetUser", UserName=user_name)["User"]
        except AwsError as exc:
            if exc.gone:
                return None
            raise
        name = found["UserName"]
        tags = {t["Key"]: t["Value"] for t in paginate(self._client, "ListUserTags", "Tags", UserName=name)}
        return user_state(found, tags)

    # Writes on the user ----------------------------------------------------------------------------------

    def create_user(
        self, user_name: str, *, path: str, tags: dict[str, str], permissions_boundary_arn: str | None
    ) -> UserState:
        params: dict[str, Any] = {
            "UserName": user_name,
            "Path": path,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        if permissions_boundary_arn:
            params["PermissionsBoundary"] = permissions_boundary_arn
        return user_state(call(self._client, "CreateUser", **params)["User"], tags)

    def add_user_to_group(self, user_name: str, group_name: str) -> None:
        call(self._client, "AddUserToGroup", UserName=user_name, GroupName=group_name)

    def remove_user_from_group(self, user_name: str, group_name: str) -> bool:
        return self._unless_gone("RemoveUserFromGroup", UserName=user_name, GroupName=group_name)

    def tag_user(self, user_name: str, tags: dict[str, str]) -> None:
        call(self._client, "TagUser", UserName=user_name, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])

    def untag_user(self, user_name: str, keys: list[str]) -> bool:
        return self._unless_gone("UntagUser", UserName=user_name, TagKeys=keys)

    def delete_user(self, user_name: str) -> bool:
        return self._unless_gone("DeleteUser", UserName=user_name)

    # Keys ------------------------------------------------------------------------------------------------

    def create_access_key(self, user_name: str) -> NewAccessKey:
        key = call(self._client, "CreateAccessKey", UserName=user_name)["AccessKey"]
        return NewAccessKey(
            user_name=key["UserName"],
            access_key_id=key["AccessKeyId"],
            create_date=key["CreateDate"],
            secret_access_key=key["SecretAccessKey"],
        )

    def set_access_key_status(self, user_name: str, access_key_id: str, status: str) -> bool:
        return self._unless_gone("UpdateAccessKey", UserName=user_name, AccessKeyId=access_key_id, Status=status)

    def delete_access_key(self, user_name: str, access_key_id: str) -> bool:
        return self._unless_gone("DeleteAccessKey", UserName=user_name, AccessKeyId=access_key_id)

    # Deleting a user -------------------------------------------------------------------------------------

    def delete_user_with_credentials(
        self, user_name: str, *, before_delete: Callable[[], object] | None = None
    ) -> Counter[str]:
        """Remove everything IAM requires gone before DeleteUser, then the user. Returns what was removed
        (an empty counter, without "user", when the user was already gone). Safe to repeat after a crash."""
        removed: Counter[str] = Counter()
        c = self._client
        name = {"UserName": user_name}

        def each(operation: str, result_key: str) -> list[Any]:
            # A list call on a user deleted meanwhile fails with NoSuchEntity: nothing left to remove there.
            try:
                return list(paginate(c, operation, result_key, **name))
            except AwsError as exc:
                if exc.gone:
                    return []
                raise

        if self._unless_gone("DeleteLoginProfile", **name):
            removed["login profile"] += 1
        for key in each("ListAccessKeys", "AccessKeyMetadata"):
            if self.delete_access_key(user_name, key["AccessKeyId"]):
                removed["access key"] += 1
        for device in each("ListMFADevices", "MFADevices"):
            serial = device["SerialNumber"]
            self._unless_gone("DeactivateMFADevice", SerialNumber=serial, **name)
            # Virtual devices are named by an ARN; hardware ones by a serial number and only get deactivated.
            if serial.startswith("arn:"):
                self._unless_gone("DeleteVirtualMFADevice", SerialNumber=serial)
            removed["MFA device"] += 1
        for cert in each("ListSigningCertificates", "Certificates"):
            if self._unless_gone("DeleteSigningCertificate", CertificateId=cert["CertificateId"], **name):
                removed["signing certificate"] += 1
        for ssh in each("ListSSHPublicKeys", "SSHPublicKeys"):
            if self._unless_gone("DeleteSSHPublicKey", SSHPublicKeyId=ssh["SSHPublicKeyId"], **name):
                removed["SSH public key"] += 1
        for cred in each("ListServiceSpecificCredentials", "ServiceSpecificCredentials"):
            credential_id = cred["ServiceSpecificCredentialId"]
            if self._unless_gone("DeleteServiceSpecificCredential", ServiceSpecificCredentialId=credential_id, **name):
                removed["service-specific credential"] += 1
        for policy_name in each("ListUserPolicies", "PolicyNames"):
            if self._unless_gone("DeleteUserPolicy", PolicyName=policy_name, **name):
                removed["inline policy"] += 1
        for policy in each("ListAttachedUserPolicies", "AttachedPolicies"):
            if self._unless_gone("DetachUserPolicy", PolicyArn=policy["PolicyArn"], **name):
                removed["attached policy"] += 1
        for group in each("ListGroupsForUser", "Groups"):
            if self.remove_user_from_group(user_name, group["GroupName"]):
                removed["group membership"] += 1
        if before_delete is not None:
            before_delete()  # the last step while the user (and its write-ahead tag) still exists
        if self.delete_user(user_name):
            removed["user"] += 1
        return removed
