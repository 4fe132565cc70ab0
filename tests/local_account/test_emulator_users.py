"""IAM user behaviours the functions rely on, as AWS has them: DeleteUser refuses while the user still
holds anything, user names are unique regardless of case, users carry permissions boundaries, and
service-specific credentials exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local_account.emulator_helpers import ACCOUNT, error_code, policy
from tests.support.credentials import CERTIFICATE, SSH_PUBLIC_KEY


@pytest.fixture
def user(iam: Any) -> str:
    iam.create_user(UserName="alice", Path="/temporary/")
    return "alice"


def _login_profile(iam: Any) -> None:
    iam.create_login_profile(UserName="alice", Password="A-long-enough-passw0rd!")


def _access_key(iam: Any) -> None:
    iam.create_access_key(UserName="alice")


def _group(iam: Any) -> None:
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="alice")


def _inline_policy(iam: Any) -> None:
    statement = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=policy(statement))


def _attached_policy(iam: Any) -> None:
    statement = {"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}
    arn = iam.create_policy(PolicyName="managed", PolicyDocument=policy(statement))["Policy"]["Arn"]
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)


def _mfa_device(iam: Any) -> None:
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-mfa")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="alice", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )


def _signing_certificate(iam: Any) -> None:
    iam.upload_signing_certificate(UserName="alice", CertificateBody=CERTIFICATE)


def _ssh_public_key(iam: Any) -> None:
    iam.upload_ssh_public_key(UserName="alice", SSHPublicKeyBody=SSH_PUBLIC_KEY)


def _service_specific_credential(iam: Any) -> None:
    iam.create_service_specific_credential(UserName="alice", ServiceName="codecommit.amazonaws.com")


HOLDINGS: dict[str, tuple[Callable[[Any], None], str]] = {
    "login profile": (_login_profile, "login profile"),
    "access key": (_access_key, "access keys"),
    "group membership": (_group, "remove users from group"),
    "inline policy": (_inline_policy, "delete policies"),
    "attached policy": (_attached_policy, "detach all policies"),
    "MFA device": (_mfa_device, "MFA device"),
    "signing certificate": (_signing_certificate, "signing certificates"),
    "SSH public key": (_ssh_public_key, "SSH public keys"),
    "service-specific credential": (_service_specific_credential, "service specific credentials"),
}


@pytest.mark.parametrize("holding", list(HOLDINGS))
def test_delete_user_is_refused_while_the_user_still_holds_something(iam, user, holding) -> None:
    # Given a user holding one kind of credential or attachment
    give, named_in_message = HOLDINGS[holding]
    give(iam)
    # When it is deleted
    with pytest.raises(ClientError) as refused:
        iam.delete_user(UserName=user)
    # Then AWS refuses with DeleteConflict naming what must go first, and the user still exists
    assert error_code(refused) == "DeleteConflict"
    assert named_in_message in refused.value.response["Error"]["Message"]
    assert iam.get_user(UserName=user)["User"]["UserName"] == user


def test_delete_user_succeeds_once_everything_is_removed(iam, user) -> None:
    # Given a user holding every kind, then stripped of each in the order IAM requires
    for give, _ in HOLDINGS.values():
        give(iam)
    iam.delete_login_profile(UserName=user)
    for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    iam.remove_user_from_group(GroupName="readers", UserName=user)
    iam.delete_user_policy(UserName=user, PolicyName="inline")
    for attached in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=user, PolicyArn=attached["PolicyArn"])
    for device in iam.list_mfa_devices(UserName=user)["MFADevices"]:
        iam.deactivate_mfa_device(UserName=user, SerialNumber=device["SerialNumber"])
        iam.delete_virtual_mfa_device(SerialNumber=device["SerialNumber"])
    for certificate in iam.list_signing_certificates(UserName=user)["Certificates"]:
        iam.delete_signing_certificate(UserName=user, CertificateId=certificate["CertificateId"])
    for ssh_key in iam.list_ssh_public_keys(UserName=user)["SSHPublicKeys"]:
        iam.delete_ssh_public_key(UserName=user, SSHPublicKeyId=ssh_key["SSHPublicKeyId"])
    for credential in iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]:
        iam.delete_service_specific_credential(
            UserName=user, ServiceSpecificCredentialId=credential["ServiceSpecificCredentialId"]
        )
    # When it is deleted
    iam.delete_user(UserName=user)
    # Then it is gone
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName=user)
    assert error_code(gone) == "NoSuchEntity"


def test_user_names_differing_only_in_case_are_the_same_name(iam, user) -> None:
    # Given alice exists; when Alice is created
    with pytest.raises(ClientError) as refused:
        iam.create_user(UserName="ALICE", Path="/temporary/")
    # Then AWS refuses: IAM names are case-insensitive
    assert error_code(refused) == "EntityAlreadyExists"
    assert [u["UserName"] for u in iam.list_users()["Users"]] == ["alice"]


@pytest.fixture
def boundary(iam: Any) -> str:
    statement = {"Effect": "Allow", "Action": "sts:GetCallerIdentity", "Resource": "*"}
    return str(iam.create_policy(PolicyName="boundary", PolicyDocument=policy(statement))["Policy"]["Arn"])


def test_create_user_stores_the_permissions_boundary(iam, boundary) -> None:
    # When a user is created with a permissions boundary
    iam.create_user(UserName="bob", Path="/temporary/", PermissionsBoundary=boundary)
    # Then GetUser and GetAccountAuthorizationDetails return it (ListUsers does not, as documented)
    expected = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": boundary}
    assert iam.get_user(UserName="bob")["User"]["PermissionsBoundary"] == expected
    details = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    assert [d["PermissionsBoundary"] for d in details if d["UserName"] == "bob"] == [expected]
    assert "PermissionsBoundary" not in iam.list_users()["Users"][0]


def test_create_user_with_an_unknown_boundary_fails_and_leaves_no_user(iam) -> None:
    with pytest.raises(ClientError) as refused:
        iam.create_user(UserName="bob", PermissionsBoundary=f"arn:aws:iam::{ACCOUNT}:policy/does-not-exist")
    assert error_code(refused) == "NoSuchEntity"
    assert iam.list_users()["Users"] == []


def test_boundaries_can_be_put_and_deleted(iam, user, boundary) -> None:
    iam.put_user_permissions_boundary(UserName=user, PermissionsBoundary=boundary)
    assert iam.get_user(UserName=user)["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.delete_user_permissions_boundary(UserName=user)
    assert "PermissionsBoundary" not in iam.get_user(UserName=user)["User"]


def test_service_specific_credentials_are_created_listed_and_deleted(iam, user) -> None:
    # When a CodeCommit credential is created
    created = iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    credential = created["ServiceSpecificCredential"]
    # Then it is listed (without its password) and can be deleted
    listed = iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"]
    assert [c["ServiceSpecificCredentialId"] for c in listed] == [credential["ServiceSpecificCredentialId"]]
    assert credential["ServicePassword"] and "ServicePassword" not in listed[0]
    assert credential["ServiceUserName"] == f"{user}-at-{ACCOUNT}"
    iam.delete_service_specific_credential(
        UserName=user, ServiceSpecificCredentialId=credential["ServiceSpecificCredentialId"]
    )
    assert iam.list_service_specific_credentials(UserName=user)["ServiceSpecificCredentials"] == []


def test_service_specific_credentials_are_limited_to_two_per_service(iam, user) -> None:
    for _ in range(2):
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    with pytest.raises(ClientError) as refused:
        iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    assert error_code(refused) == "LimitExceeded"


def test_deleting_an_unknown_service_specific_credential_is_no_such_entity(iam, user) -> None:
    with pytest.raises(ClientError) as missing:
        iam.delete_service_specific_credential(UserName=user, ServiceSpecificCredentialId="ACCAEXAMPLE0000000000")
    assert error_code(missing) == "NoSuchEntity"
