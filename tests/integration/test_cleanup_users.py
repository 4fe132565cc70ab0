"""cleanup_users end to end against moto: stale users go with every credential; nothing unmanaged is touched."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from tests.support.credentials import CERTIFICATE, SSH_PUBLIC_KEY
from tests.support.moto_account import ACCOUNT_ID, GROUP, MANAGED_BY, OWNER, PATH, Account, wire_functions

NAME = "temporary-iam-user"
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:List*", "Resource": "*"}]}
)


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def cleanup(account: Account, event: dict[str, object] | None = None) -> dict[str, object]:
    return account.invoke("cleanup_users", event if event is not None else {})


REMOVABLE = "/removable/"  # the groups cleanup may take a user out of, besides the stack's own


def give_every_credential(account: Account, user_name: str) -> str:
    """Everything moto supports that IAM makes you remove before DeleteUser (it has one key already)."""
    iam = account.iam
    iam.create_login_profile(UserName=user_name, Password="Correct-Horse-Battery-9")
    iam.create_access_key(UserName=user_name)
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user_name}-mfa")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=user_name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.upload_signing_certificate(UserName=user_name, CertificateBody=CERTIFICATE)
    iam.upload_ssh_public_key(UserName=user_name, SSHPublicKeyBody=SSH_PUBLIC_KEY)
    iam.put_user_policy(UserName=user_name, PolicyName="inline", PolicyDocument=POLICY)
    attached = iam.create_policy(PolicyName="attached-by-hand", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.attach_user_policy(UserName=user_name, PolicyArn=attached)
    iam.create_group(GroupName="extra-group", Path=REMOVABLE)
    iam.add_user_to_group(GroupName="extra-group", UserName=user_name)
    return serial


def test_expired_user_is_deleted_with_every_credential(
    account: Account, traveller: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given groups under removable_group_path, and a user with a 1-day TTL who, by hand, got every kind of
    # credential and policy (and such a group)
    wire_functions(monkeypatch, account, env={"REMOVABLE_GROUP_PATH": REMOVABLE})
    account.create(NAME, ttl_days=1)
    serial = give_every_credential(account, NAME)
    assert len(account.keys(NAME)) == 2

    # When cleanup runs after it expired (DeleteUser refuses, as in AWS, while anything is left)
    traveller.move_to(START + timedelta(days=2))
    report = cleanup(account)

    # Then the user and its virtual MFA device are gone, and its secret is scheduled for deletion
    assert account.user(NAME) is None
    assert serial not in [d["SerialNumber"] for d in account.iam.list_virtual_mfa_devices()["VirtualMFADevices"]]
    assert account.iam.get_group(GroupName=GROUP)["Users"] == []
    assert account.iam.get_group(GroupName="extra-group")["Users"] == []
    secret = account.secret(NAME)
    assert secret is not None and "DeletedDate" in secret
    assert [(a["action"], a["status"]) for a in report["actions"]] == [
        ("delete_user", "done"),
        ("delete_secret", "done"),
    ]
    detail = report["actions"][0]["detail"]
    for removed in (
        "1 login profile",
        "2 access keys",
        "1 MFA device",
        "1 signing certificate",
        "1 SSH public key",
        "1 inline policy",
        "1 attached policy",
        "2 group memberships",
    ):
        assert removed in detail
    assert report["actions"][0]["reason"].startswith("expired at 2030-01-02")

    # And a second run finds nothing left to do
    assert cleanup(account)["actions"] == []


def test_unused_user_is_deleted_when_stale(account: Account, traveller: time_machine.Traveller) -> None:
    # Given a long-lived user whose key is never used after its creation
    account.create(NAME, ttl_days=365)

    # When cleanup runs before and after 90 days without use
    traveller.move_to(START + timedelta(days=89))
    assert cleanup(account)["actions"] == []
    traveller.move_to(START + timedelta(days=91))
    report = cleanup(account)

    # Then the user is deleted as stale
    assert account.user(NAME) is None
    assert report["actions"][0]["reason"].startswith("no key used for 90 days")


def test_exempt_user_is_kept(account: Account, traveller: time_machine.Traveller) -> None:
    account.create(NAME, ttl_days=1)
    account.iam.tag_user(
        UserName=NAME,
        Tags=[{"Key": "exempt-until", "Value": "2030-06-01"}, {"Key": "exempt-reason", "Value": "audit"}],
    )
    traveller.move_to(START + timedelta(days=2))
    assert cleanup(account)["actions"] == []
    assert account.user(NAME) is not None


def test_unmanaged_users_are_never_touched(account: Account, traveller: time_machine.Traveller) -> None:
    # Given users the stack does not manage, all "expired" and long unused
    expired = [{"Key": "managed-by", "Value": MANAGED_BY}, {"Key": "expires-at", "Value": "2030-01-02T00:00:00Z"}]
    account.iam.create_user(UserName="other-path", Path="/people/", Tags=expired)
    account.iam.create_user(UserName="untagged", Path=PATH, Tags=expired[1:])
    account.iam.create_user(UserName="admin", Path="/")
    account.iam.attach_user_policy(UserName="admin", PolicyArn=f"arn:aws:iam::{ACCOUNT_ID}:policy/IAMReadOnlyAccess")
    for name in ("other-path", "untagged", "admin"):
        account.iam.create_access_key(UserName=name)
    traveller.move_to(START + timedelta(days=400))
    state = account.state()

    # When cleanup runs
    report = cleanup(account)

    # Then nothing changed; only the user in the managed path without the tag is reported
    assert account.state() == state
    assert report["actions"] == []
    assert [(w["code"], w["user_name"]) for w in report["warnings"]] == [("unmanaged_in_path", "untagged")]


@pytest.mark.parametrize("user_name", ["admin", "Admin", "nobody"])
def test_manual_cleanup_of_an_unmanaged_or_unknown_user_is_refused(account: Account, user_name: str) -> None:
    account.iam.create_user(UserName="admin", Path="/")
    account.iam.create_access_key(UserName="admin")
    state = account.state()

    report = cleanup(account, {"user_name": user_name})

    assert report["actions"] == []
    assert report["errors"] and ("not managed" in report["errors"][0] or "does not exist" in report["errors"][0])
    assert account.state() == state


def test_manual_cleanup_deletes_a_managed_user_now(account: Account) -> None:
    # Given a fresh, unexpired managed user
    account.create(NAME, ttl_days=30)

    # When the operator deletes it by hand
    report = cleanup(account, {"user_name": NAME})

    # Then it is gone with its key, and its secret is recoverable for the recovery window
    assert account.user(NAME) is None
    assert [a["action"] for a in report["actions"]] == ["delete_user", "delete_secret"]
    assert "DeletedDate" in account.secret(NAME)
    assert report["actions"][0]["reason"] == "requested"


def test_a_failed_deletion_is_reported_and_resumed(account: Account) -> None:
    # Given a user whose group membership cannot be removed this time
    account.create(NAME)
    account.faults.fail("RemoveUserFromGroup")

    # When the operator deletes it
    report = cleanup(account, {"user_name": NAME})

    # Then the deletion fails with the AWS error code, and the secret is left alone for now
    assert [(a["action"], a["status"]) for a in report["actions"]] == [
        ("delete_user", "failed"),
        ("delete_secret", "failed"),
    ]
    assert report["actions"][0]["detail"] == "RemoveUserFromGroup failed: AccessDenied"
    assert "DeletedDate" not in account.secret(NAME)
    assert account.keys(NAME) == {}  # what came before the failing step is already gone

    # When it is retried with the fault gone, it resumes and finishes
    account.faults.clear()
    report = cleanup(account, {"user_name": NAME})
    assert [a["status"] for a in report["actions"]] == ["done", "done"]
    assert account.user(NAME) is None


def test_cleanup_owner_is_on_the_notification(account: Account) -> None:
    account.create(NAME)
    cleanup(account, {"user_name": NAME})
    last = account.notifications()[-1]
    assert last["attributes"] == {"owner": OWNER, "kind": "run"}
    assert last["subject"] == f"IAM keys (cleanup_users) for {OWNER}: 2 changes done"
    assert f"- user {NAME}: user deleted with every credential it held. Why: " in last["message"]


@pytest.mark.parametrize("path", ["/", "/removable-not/"])
def test_a_managed_user_in_another_group_is_left_whole_and_reported(
    account: Account, traveller: time_machine.Traveller, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    # Given groups under removable_group_path, and an expired user someone also put in a group elsewhere (an
    # administrators' or a deny group): IAM's RemoveUserFromGroup names no member, so the role is limited to groups
    wire_functions(monkeypatch, account, env={"REMOVABLE_GROUP_PATH": REMOVABLE})
    account.create(NAME, ttl_days=1)
    account.iam.create_group(GroupName="admins", Path=path)
    account.iam.add_user_to_group(GroupName="admins", UserName=NAME)
    traveller.move_to(START + timedelta(days=2))
    state = account.state()
    # When cleanup runs
    report = cleanup(account)
    # Then the deletion is refused naming the group to remove by hand, and nothing was changed
    action = report["actions"][0]
    assert (action["action"], action["status"]) == ("delete_user", "failed")
    assert "admins" in action["detail"] and "by hand" in action["detail"]
    assert account.state() == state
