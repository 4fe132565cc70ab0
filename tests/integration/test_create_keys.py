"""create_keys end to end against moto: the manual create, its idempotence, refusals, rollback, reconcile."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.moto_account import GROUP, MANAGED_BY, OWNER, PATH, PREFIX, READ_ONLY, Account

NAME = "temporary-iam-user"


def test_create_makes_a_complete_verified_user(account: Account) -> None:
    # Given an account with the stack's group and boundary
    # When an operator creates a temporary user
    before = datetime.now(UTC).replace(microsecond=0)
    report = account.create(NAME, ttl_days=7, purpose="article walkthrough")

    # Then the user is under the managed path with its tags, in the group, and carries no policy of its own
    user = account.user(NAME)
    assert user is not None and user["Path"] == PATH
    tags = account.tags(NAME)
    assert tags["managed-by"] == MANAGED_BY
    assert tags["owner"] == OWNER
    assert tags["purpose"] == "article walkthrough"
    assert "provisioning" not in tags
    expires = datetime.fromisoformat(tags["expires-at"])
    assert before + timedelta(days=7) <= expires <= before + timedelta(days=7, seconds=5)
    assert user["GroupList"] == [GROUP]
    assert user["UserPolicyList"] == [] and user["AttachedManagedPolicies"] == []
    assert account.iam.list_attached_group_policies(GroupName=GROUP)["AttachedPolicies"][0]["PolicyArn"] == READ_ONLY
    # moto ignores CreateUser's PermissionsBoundary, so the request itself is checked
    (create_user,) = account.faults.params_of("CreateUser")
    assert create_user["PermissionsBoundary"] == account.boundary_arn

    # And it has exactly one active key whose secret version is AWSCURRENT (verified, so no AWSPENDING)
    keys = account.keys(NAME)
    assert list(keys.values()) == ["Active"]
    (key_id,) = keys
    assert account.stages(NAME) == {key_id: ["AWSCURRENT"]}
    stored = account.secret_value(NAME)
    assert stored["access_key_id"] == key_id and stored["user_name"] == NAME
    assert account.use_key(key_id, stored["secret_access_key"]) == user["Arn"]
    assert f"current-since:{key_id}" in tags

    # And the report says so, without the secret
    assert report["errors"] == []
    assert report["user_arn"] == user["Arn"]
    assert report["access_key_id"] == key_id
    assert report["secret_arn"] == account.secret(NAME)["ARN"]
    assert report["expires_at"] == tags["expires-at"]
    assert report["verification"] == "verified"
    assert report["verified_arn"] == user["Arn"]
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("create_user", "done"), ("create_key", "done")]
    assert stored["secret_access_key"] not in str(report)


def test_second_create_is_idempotent(account: Account) -> None:
    # Given a user created once
    first = account.create(NAME)
    state = account.state()

    # When the same create is sent again (with another case, as IAM names are case-insensitive)
    second = account.create(NAME.upper())

    # Then nothing changes and the existing user is described
    assert account.state() == state
    assert second["actions"] == [] and second["errors"] == []
    assert second["user_arn"] == first["user_arn"]
    assert second["access_key_id"] == first["access_key_id"]
    assert second["secret_arn"] == first["secret_arn"]
    assert second["verification"] == "verified"


def test_case_variant_of_an_unmanaged_user_is_refused(account: Account) -> None:
    # Given an unmanaged user whose name differs only in case
    account.iam.create_user(UserName="Temporary-IAM-User")
    state = account.state()

    # When the operator asks for the lower-case name
    report = account.create(NAME)

    # Then the request is refused by name and nothing changes
    assert account.state() == state
    assert report["actions"] == []
    assert "Temporary-IAM-User" in report["errors"][0] and "not managed" in report["errors"][0]


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "create_user", "user_name": "bad name!", "owner": OWNER}, "user_name"),
        ({"action": "create_user", "user_name": "", "owner": OWNER}, "user_name"),
        ({"action": "create_user", "user_name": "x" * 65, "owner": OWNER}, "user_name"),
        ({"action": "create_user", "user_name": NAME}, "owner"),
        ({"action": "create_user", "user_name": NAME, "owner": OWNER, "ttl_days": 0}, "ttl_days"),
        ({"action": "create_user", "user_name": NAME, "owner": OWNER, "ttl_days": "7"}, "ttl_days"),
        ({"action": "create_user", "user_name": NAME, "owner": OWNER, "admin": True}, "admin"),
        ({"action": "delete_everything"}, "action"),
        ([], "event"),
    ],
)
def test_invalid_payload_names_the_field_and_changes_nothing(account: Account, event: object, field: str) -> None:
    # Given an account with one managed user
    account.create("existing-user")
    state = account.state()

    # When a malformed payload arrives
    report = account.invoke("create_keys", event)

    # Then the report names the field, and the account is exactly as before
    assert report["actions"] == []
    assert any(error.startswith(f"{field}:") for error in report["errors"]), report["errors"]
    assert account.state() == state


def test_ttl_beyond_the_maximum_is_refused(account: Account) -> None:
    state = account.state()
    report = account.create(NAME, ttl_days=366)
    assert "ttl_days 366 exceeds the maximum" in report["errors"][0]
    assert account.state() == state


def test_dry_run_plans_without_writing(account: Account) -> None:
    # Given an empty account
    state = account.state()

    # When a create is sent as a dry run
    report = account.create(NAME, dry_run=True)

    # Then the plan is returned and nothing was written
    assert report["dry_run"] is True
    assert [(a["action"], a["status"]) for a in report["actions"]] == [
        ("create_user", "planned"),
        ("create_key", "planned"),
    ]
    assert report["verification"] == "skipped (dry run)"
    assert report["expires_at"] is not None
    assert account.state() == state
    writes = {"CreateUser", "CreateAccessKey", "CreateSecret", "PutSecretValue", "AddUserToGroup", "TagUser"}
    assert not writes & set(account.faults.operations())


# Every AWS call of the create after CreateUser; a failure at any of them must leave nothing behind.
CREATE_STEPS = [
    "AddUserToGroup",
    "ListAccessKeys",
    "DescribeSecret",
    "CreateSecret",
    "CreateAccessKey",
    "PutSecretValue",
    "UpdateSecretVersionStage",
    "TagUser",
    "UntagUser",
]


@pytest.mark.parametrize("operation", CREATE_STEPS)
def test_failure_at_any_step_rolls_the_create_back(account: Account, operation: str) -> None:
    # Given AWS refuses one step of the create
    account.faults.fail(operation, "AccessDenied")

    # When the operator creates a user
    report = account.create(NAME)

    # Then the call was made, it failed, and no user or key is left; a secret it made is in its recovery window
    # (never deleted without recovery: the roles are denied ForceDeleteWithoutRecovery)
    assert operation in account.faults.operations()
    assert account.user(NAME) is None
    assert account.live_secret(NAME) is None
    assert account.iam.list_users(PathPrefix=PATH)["Users"] == []
    assert account.iam.get_group(GroupName=GROUP)["Users"] == []
    # And the report says what failed and that everything was undone
    assert report["user_arn"] is None and report["verification"] == "failed"
    assert [a["status"] for a in report["actions"]] == ["failed", "failed"]
    assert f"{operation} failed: AccessDenied" in report["errors"][0]
    assert "everything this call created was removed" in report["errors"][0]


def test_failure_at_create_user_creates_nothing(account: Account) -> None:
    account.faults.fail("CreateUser", "LimitExceeded")
    report = account.create(NAME)
    assert account.user(NAME) is None and account.secret(NAME) is None
    assert report["actions"][0]["detail"] == "CreateUser failed: LimitExceeded"
    assert report["actions"][1]["detail"] == "skipped: an earlier action on this user failed"


def test_rollback_returns_a_secret_to_its_recovery_window(account: Account) -> None:
    # Given a user that was deleted while its secret is still recoverable
    account.create(NAME)
    account.invoke("cleanup_users", {"user_name": NAME})
    scheduled = account.secret(NAME)
    assert scheduled is not None and "DeletedDate" in scheduled

    # When it is re-created and the new key cannot be stored
    account.faults.fail("PutSecretValue")
    account.create(NAME)

    # Then the restored secret is scheduled for deletion again, with none of the new call's versions
    secret = account.secret(NAME)
    assert secret is not None and "DeletedDate" in secret
    assert secret["SecretVersionsToStages"] == scheduled["SecretVersionsToStages"]
    assert account.user(NAME) is None


def test_recreated_user_gets_a_new_version_in_the_restored_secret(account: Account) -> None:
    # Given a user deleted with its secret in the recovery window
    old_key = account.create(NAME)["access_key_id"]
    account.invoke("cleanup_users", {"user_name": NAME})

    # When a user of the same name is created again
    report = account.create(NAME)

    # Then the secret is restored and its current version holds the new key; the old one only a deleted key
    new_key = report["access_key_id"]
    assert new_key != old_key and report["verification"] == "verified"
    assert "DeletedDate" not in account.secret(NAME)
    assert account.secret_value(NAME)["access_key_id"] == new_key
    assert account.stages(NAME)[new_key] == ["AWSCURRENT"]
    assert list(account.keys(NAME)) == [new_key]


def test_unverified_key_stays_pending_and_reconcile_finishes_it(account: Account) -> None:
    # Given a new key that STS does not accept yet (IAM propagation)
    account.faults.fail("GetCallerIdentity", "InvalidClientTokenId")

    # When the user is created
    report = account.create(NAME)

    # Then the user is complete but its key waits in AWSPENDING, after a bounded backoff
    (key_id,) = account.keys(NAME)
    assert report["verification"] == "pending" and report["verified_arn"] is None
    assert report["errors"] == []
    assert [w["code"] for w in report["warnings"]] == ["verification_pending"]
    assert "AWSPENDING" in account.stages(NAME)[key_id]
    assert "provisioning" not in account.tags(NAME)
    assert sum(account.clock.sleeps) == pytest.approx(5.0)
    assert account.clock.sleeps[:3] == [0.5, 1.0, 2.0]

    # When STS accepts the key and the hourly reconcile runs
    account.faults.clear()
    reconcile = account.invoke("create_keys", {"action": "reconcile"})

    # Then the key is verified and promoted
    assert [(a["action"], a["status"], a["access_key_id"]) for a in reconcile["actions"]] == [
        ("verify_key", "done", key_id)
    ]
    assert account.stages(NAME) == {key_id: ["AWSCURRENT"]}
    assert f"current-since:{key_id}" in account.tags(NAME)


def test_reconcile_creates_a_key_for_a_managed_user_without_one(account: Account) -> None:
    # Given a managed user left without a key (a create cut short after CreateUser)
    expires = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    account.iam.create_user(
        UserName="half-made",
        Path=PATH,
        PermissionsBoundary=account.boundary_arn,
        Tags=[
            {"Key": "managed-by", "Value": MANAGED_BY},
            {"Key": "owner", "Value": OWNER},
            {"Key": "expires-at", "Value": expires},
            {"Key": "provisioning", "Value": "true"},
        ],
    )

    # When reconcile runs
    report = account.invoke("create_keys", {"action": "reconcile"})

    # Then it gets a verified key and is no longer marked as provisioning
    (key_id,) = account.keys("half-made")
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("create_key", "done")]
    assert account.stages("half-made") == {key_id: ["AWSCURRENT"]}
    assert "provisioning" not in account.tags("half-made")


def test_reconcile_reports_a_key_without_secret_and_leaves_it(account: Account) -> None:
    # Given a managed user with a key created by hand (never stored)
    account.create(NAME)
    manual = account.iam.create_access_key(UserName=NAME)["AccessKey"]["AccessKeyId"]
    state = account.state()

    # When reconcile runs
    report = account.invoke("create_keys", {"action": "reconcile"})

    # Then the key is reported, not adopted, not deleted
    assert report["actions"] == []
    assert [(w["code"], w["access_key_id"]) for w in report["warnings"]] == [("key_without_secret", manual)]
    assert account.state() == state


def test_reconcile_warns_about_unmanaged_users_in_the_path(account: Account) -> None:
    account.iam.create_user(UserName="intruder", Path=PATH)
    report = account.invoke("create_keys", {"action": "reconcile"})
    assert [(w["code"], w["user_name"]) for w in report["warnings"]] == [("unmanaged_in_path", "intruder")]
    assert account.keys("intruder") == {}
    assert PREFIX + "intruder" not in account.state()["secrets"]


def test_reconcile_never_gives_a_key_to_a_tagged_user_the_stack_did_not_create(account: Account) -> None:
    # Given a user made by hand in the path and tagged as managed (no boundary), and a tagged user on a sub-path
    # (IAM's `user/temporary/*` covers /temporary/admins/ too), both without a key
    expires = (datetime.now(UTC) + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tags = [
        {"Key": "managed-by", "Value": MANAGED_BY},
        {"Key": "owner", "Value": OWNER},
        {"Key": "expires-at", "Value": expires},
        {"Key": "provisioning", "Value": "true"},
    ]
    account.iam.create_user(UserName="handmade", Path=PATH, Tags=tags)
    account.iam.create_user(
        UserName="nested", Path=f"{PATH}admins/", PermissionsBoundary=account.boundary_arn, Tags=tags
    )
    state = account.state()
    # When the hourly reconcile runs
    report = account.invoke("create_keys", {"action": "reconcile"})
    # Then neither gets a key or a secret; both are reported with the reason
    assert report["actions"] == []
    warnings = {w["user_name"]: w["message"] for w in report["warnings"] if w["code"] == "unmanaged_in_path"}
    assert set(warnings) == {"handmade", "nested"}
    assert "permissions boundary" in warnings["handmade"]
    assert "below" in warnings["nested"]
    assert account.state() == state


def test_a_rolled_back_secret_stays_recoverable(account: Account) -> None:
    # Given AWS refuses storing the new key, after the create made the user's secret
    account.faults.fail("PutSecretValue", "AccessDenied")
    # When the operator creates a user
    account.create(NAME)
    # Then the secret is scheduled for deletion with a recovery window, never deleted without one (the roles are
    # denied secretsmanager:ForceDeleteWithoutRecovery)
    secret = account.secret(NAME)
    assert secret is not None and secret.get("DeletedDate") is not None
    # And creating the user again restores it and stores the key there
    account.faults.clear()
    assert account.create(NAME)["verification"] == "verified"
    assert account.live_secret(NAME) is not None
