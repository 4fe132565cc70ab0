"""IAM policy evaluation in the local account judges each request against its resource ARN, as AWS does:
users by path, groups, secrets by name prefix (with their random suffix), topics; AWS wildcards only."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.local_account.emulator_helpers import ACCOUNT, REGION, allow, error_code

USERS_UNDER_TEMPORARY = f"arn:aws:iam::{ACCOUNT}:user/temporary/*"
SECRETS_UNDER_PREFIX = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:temporary-iam-users/*"


@pytest.fixture
def users(iam: Any) -> None:
    iam.create_user(UserName="alice", Path="/temporary/")
    iam.create_user(UserName="root-admin", Path="/admin/")


def test_a_path_scoped_policy_allows_users_under_the_path_and_denies_others(users, principal, enforced) -> None:
    # Given a principal allowed iam:CreateAccessKey on user/temporary/*
    caller = principal(allow("iam:CreateAccessKey", USERS_UNDER_TEMPORARY)).client("iam")
    with enforced():
        # When it creates keys for a user under /temporary/ and one under /admin/
        created = caller.create_access_key(UserName="alice")
        with pytest.raises(ClientError) as denied:
            caller.create_access_key(UserName="root-admin")
    # Then AWS allows the first (arn:aws:iam::…:user/temporary/alice) and denies the second
    assert created["AccessKey"]["UserName"] == "alice"
    assert error_code(denied) == "AccessDenied"
    assert "user/admin/root-admin" in denied.value.response["Error"]["Message"]


def test_a_user_that_does_not_exist_is_judged_without_a_path(users, principal, enforced) -> None:
    # Given a principal allowed iam:DeleteUser on user/temporary/* only
    caller = principal(allow("iam:DeleteUser", USERS_UNDER_TEMPORARY)).client("iam")
    with enforced(), pytest.raises(ClientError) as denied:
        # When it deletes a user name that exists nowhere
        caller.delete_user(UserName="ghost")
    # Then AWS answers AccessDenied (the ARN user/ghost is outside the path), not NoSuchEntity
    assert error_code(denied) == "AccessDenied"


def test_creating_a_user_is_judged_against_the_path_it_asks_for(aws, principal, enforced) -> None:
    caller = principal(allow("iam:CreateUser", USERS_UNDER_TEMPORARY)).client("iam")
    with enforced():
        caller.create_user(UserName="bob", Path="/temporary/")
        with pytest.raises(ClientError) as denied:
            caller.create_user(UserName="carol", Path="/admin/")
    assert error_code(denied) == "AccessDenied"


def test_last_used_of_a_key_is_judged_against_the_user_owning_it(iam, users, principal, enforced) -> None:
    # Given keys of a managed user and of an admin, and a principal allowed GetAccessKeyLastUsed under /temporary/
    alice_key = iam.create_access_key(UserName="alice")["AccessKey"]["AccessKeyId"]
    admin_key = iam.create_access_key(UserName="root-admin")["AccessKey"]["AccessKeyId"]
    caller = principal(allow("iam:GetAccessKeyLastUsed", USERS_UNDER_TEMPORARY)).client("iam")
    with enforced():
        caller.get_access_key_last_used(AccessKeyId=alice_key)
        with pytest.raises(ClientError) as denied:
            caller.get_access_key_last_used(AccessKeyId=admin_key)
    # Then only the managed user's key may be read (the request names a key, AWS judges its owner)
    assert error_code(denied) == "AccessDenied"


def test_group_membership_is_judged_against_the_group(iam, users, principal, enforced) -> None:
    iam.create_group(GroupName="temporary-users")
    iam.create_group(GroupName="admins")
    caller = principal(allow("iam:AddUserToGroup", f"arn:aws:iam::{ACCOUNT}:group/temporary-users")).client("iam")
    with enforced():
        caller.add_user_to_group(GroupName="temporary-users", UserName="alice")
        with pytest.raises(ClientError) as denied:
            caller.add_user_to_group(GroupName="admins", UserName="alice")
    assert error_code(denied) == "AccessDenied"


def test_a_secret_prefix_policy_covers_the_secrets_random_suffix(aws, principal, enforced) -> None:
    # Given two secrets (their ARNs end in -XXXXXX) and a principal allowed to read secret:temporary-iam-users/*
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="temporary-iam-users/alice", SecretString="{}")
    secrets.create_secret(Name="database/password", SecretString="{}")
    caller = principal(allow("secretsmanager:GetSecretValue", SECRETS_UNDER_PREFIX)).client("secretsmanager")
    with enforced():
        # When it reads each
        value = caller.get_secret_value(SecretId="temporary-iam-users/alice")
        with pytest.raises(ClientError) as denied:
            caller.get_secret_value(SecretId="database/password")
    # Then the prefixed one is readable, the other is denied with Secrets Manager's own (JSON) error code
    assert value["Name"] == "temporary-iam-users/alice"
    assert error_code(denied) == "AccessDeniedException"


def test_a_new_secret_is_judged_against_the_name_it_will_have(aws, principal, enforced) -> None:
    caller = principal(allow("secretsmanager:CreateSecret", SECRETS_UNDER_PREFIX)).client("secretsmanager")
    with enforced():
        caller.create_secret(Name="temporary-iam-users/bob", SecretString="{}")
        with pytest.raises(ClientError) as denied:
            caller.create_secret(Name="elsewhere/bob", SecretString="{}")
    assert error_code(denied) == "AccessDeniedException"


def test_publishing_is_judged_against_the_topic(aws, principal, enforced) -> None:
    sns = boto3.client("sns", region_name=REGION)
    allowed = sns.create_topic(Name="notifications")["TopicArn"]
    other = sns.create_topic(Name="someone-elses")["TopicArn"]
    caller = principal(allow("sns:Publish", allowed)).client("sns")
    with enforced():
        caller.publish(TopicArn=allowed, Message="hello")
        with pytest.raises(ClientError) as denied:
            caller.publish(TopicArn=other, Message="hello")
    # SNS names its access-denied error AuthorizationError
    assert error_code(denied) == "AuthorizationError"


def test_only_star_and_question_mark_are_wildcards(iam, principal, enforced) -> None:
    # Given users team.1 and teamX1, and a policy on user/temporary/team.? (`.` is a literal dot in AWS)
    iam.create_user(UserName="team.1", Path="/temporary/")
    iam.create_user(UserName="teamX1", Path="/temporary/")
    caller = principal(allow("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/temporary/team.?")).client("iam")
    with enforced():
        caller.get_user(UserName="team.1")
        with pytest.raises(ClientError) as denied:
            caller.get_user(UserName="teamX1")
    assert error_code(denied) == "AccessDenied"


def test_actions_match_without_regard_to_case(users, principal, enforced) -> None:
    caller = principal(allow("IAM:createaccesskey", USERS_UNDER_TEMPORARY)).client("iam")
    with enforced():
        created = caller.create_access_key(UserName="alice")
    assert created["AccessKey"]["UserName"] == "alice"


def test_not_resource_allows_everything_but_the_listed_resources(users, principal, enforced) -> None:
    caller = principal(
        {"Effect": "Allow", "Action": "iam:GetUser", "NotResource": f"arn:aws:iam::{ACCOUNT}:user/admin/*"}
    ).client("iam")
    with enforced():
        caller.get_user(UserName="alice")
        with pytest.raises(ClientError) as denied:
            caller.get_user(UserName="root-admin")
    assert error_code(denied) == "AccessDenied"


def test_an_explicit_deny_overrides_an_allow(users, principal, enforced) -> None:
    caller = principal(
        allow("iam:*", "*"),
        {"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"},
    ).client("iam")
    with enforced(), pytest.raises(ClientError) as denied:
        caller.delete_user(UserName="alice")
    assert error_code(denied) == "AccessDenied"


def test_conditions_are_judged_on_allows_and_on_denies(users, principal, enforced) -> None:
    # Given an Allow conditioned on a request tag and a Deny conditioned on the tag keys
    caller = principal(
        allow("iam:TagUser", USERS_UNDER_TEMPORARY, Condition={"StringEquals": {"aws:RequestTag/team": "blue"}}),
        {
            "Effect": "Deny",
            "Action": "iam:TagUser",
            "Resource": "*",
            "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": ["managed-by"]}},
        },
    ).client("iam")
    with enforced():
        # When the caller tags as the Allow asks, then otherwise, then with the key the Deny names
        caller.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "blue"}])
        with pytest.raises(ClientError) as other_value:
            caller.tag_user(UserName="alice", Tags=[{"Key": "team", "Value": "red"}])
        with pytest.raises(ClientError) as denied_key:
            caller.tag_user(
                UserName="alice", Tags=[{"Key": "team", "Value": "blue"}, {"Key": "managed-by", "Value": "x"}]
            )
    # Then only the first is allowed, as AWS allows it
    assert error_code(other_value) == "AccessDenied"
    assert error_code(denied_key) == "AccessDenied"
    tags = boto3.client("iam", region_name=REGION).list_user_tags(UserName="alice")["Tags"]
    assert tags == [{"Key": "team", "Value": "blue"}]


def test_a_principal_without_any_matching_statement_is_denied(users, principal, enforced) -> None:
    caller = principal(allow("iam:GetUser", USERS_UNDER_TEMPORARY)).client("iam")
    with enforced(), pytest.raises(ClientError) as denied:
        caller.list_users()
    # ListUsers has no resource type: a path-scoped statement does not cover it
    assert error_code(denied) == "AccessDenied"
