"""Conditions and permissions boundaries in the local account, judged as AWS's policy evaluation logic documents
(IAM User Guide: "Policy evaluation logic", "Condition operators", "Multivalued context keys")."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.sns.models import sns_backends

from local_account.emulator.authorization import service_may
from local_account.emulator.conditions import UnsupportedConditionError, conditions_hold
from tests.local_account.emulator_helpers import ACCOUNT, REGION, allow, error_code, policy

USERS = f"arn:aws:iam::{ACCOUNT}:user/temporary/*"
SECRETS = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:temporary-iam-users/*"


def deny(actions: str | list[str], resources: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": actions, "Resource": resources, **extra}


# --- operators, as the Condition operators page states them -------------------------------------------------


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        # Several keys are AND'ed, several values of one key OR'ed.
        ({"StringEquals": {"a": ["x", "y"], "b": "z"}}, {"a": ["y"], "b": ["z"]}, True),
        ({"StringEquals": {"a": ["x", "y"], "b": "z"}}, {"a": ["y"], "b": ["w"]}, False),
        # An absent key matches nothing: false for StringEquals, true for the negated operators.
        ({"StringEquals": {"a": "x"}}, {}, False),
        ({"StringNotEquals": {"a": "x"}}, {}, True),
        ({"StringNotLike": {"a": "x*"}}, {}, True),
        ({"StringNotEquals": {"a": ["x", "y"]}}, {"a": ["y"]}, False),
        # ...IfExists: an absent key holds; a present one is judged.
        ({"StringEqualsIfExists": {"a": "x"}}, {}, True),
        ({"StringEqualsIfExists": {"a": "x"}}, {"a": ["y"]}, False),
        ({"StringLikeIfExists": {"a": "x*"}}, {"a": ["xyz"]}, True),
        # Wildcards only in the Like operators; case only with IgnoreCase.
        ({"StringEquals": {"a": "x*"}}, {"a": ["xyz"]}, False),
        ({"StringLike": {"a": "x?z"}}, {"a": ["xyz"]}, True),
        ({"StringEquals": {"a": "X"}}, {"a": ["x"]}, False),
        ({"StringEqualsIgnoreCase": {"a": "X"}}, {"a": ["x"]}, True),
        ({"ArnLike": {"a": "arn:aws:cloudwatch:*:1:alarm:*"}}, {"a": ["arn:aws:cloudwatch:r:1:alarm:A"]}, True),
        ({"ArnEquals": {"a": "arn:aws:cloudwatch:*:1:alarm:*"}}, {"a": ["arn:aws:cloudwatch:r:2:alarm:A"]}, False),
        # Bool compares the JSON boolean or its text; Null asks whether the key is absent.
        ({"Bool": {"a": True}}, {"a": ["true"]}, True),
        ({"Bool": {"a": "false"}}, {"a": ["true"]}, False),
        ({"Null": {"a": "true"}}, {}, True),
        ({"Null": {"a": "false"}}, {}, False),
        ({"Null": {"a": "false"}}, {"a": ["v"]}, True),
        # Set operators: ForAllValues is true for an absent key, ForAnyValue false.
        ({"ForAllValues:StringLike": {"k": ["a", "b*"]}}, {"k": ["a", "bc"]}, True),
        ({"ForAllValues:StringLike": {"k": ["a", "b*"]}}, {"k": ["a", "c"]}, False),
        ({"ForAllValues:StringLike": {"k": ["a"]}}, {}, True),
        ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {"k": ["c", "a"]}, True),
        ({"ForAnyValue:StringEquals": {"k": ["a"]}}, {}, False),
        # Key names compare without regard to case.
        ({"StringEquals": {"AWS:SourceAccount": "1"}}, {"aws:sourceaccount": ["1"]}, True),
    ],
)
def test_operators_hold_as_aws_documents(condition, context, holds) -> None:
    assert conditions_hold(condition, context) is holds


def test_an_operator_the_local_account_does_not_evaluate_is_refused_not_judged_met() -> None:
    with pytest.raises(UnsupportedConditionError):
        conditions_hold({"NumericLessThan": {"a": "1"}}, {"a": ["0"]})


# --- context keys, through real calls --------------------------------------------------------------------------


@pytest.fixture
def alice(iam: Any) -> None:
    iam.create_user(UserName="alice", Path="/temporary/", Tags=[{"Key": "managed-by", "Value": "stack"}])
    iam.create_user(UserName="bob", Path="/temporary/", Tags=[{"Key": "managed-by", "Value": "another"}])


def test_iam_resource_tag_is_the_users_current_tag(alice, principal, enforced) -> None:
    # Given an allow on users whose managed-by tag is "stack"
    caller = principal(
        allow("iam:CreateAccessKey", USERS, Condition={"StringEquals": {"iam:ResourceTag/managed-by": "stack"}})
    ).client("iam")
    with enforced():
        caller.create_access_key(UserName="alice")
        with pytest.raises(ClientError) as denied:
            caller.create_access_key(UserName="bob")
    # Then another deployment's user is refused, as in AWS
    assert error_code(denied) == "AccessDenied"


def test_aws_resource_tag_is_the_users_current_tag_too(alice, principal, enforced) -> None:
    caller = principal(
        allow("iam:GetUser", USERS, Condition={"StringEquals": {"aws:ResourceTag/managed-by": "stack"}})
    ).client("iam")
    with enforced():
        caller.get_user(UserName="alice")
        with pytest.raises(ClientError):
            caller.get_user(UserName="bob")


def test_create_user_is_judged_by_its_boundary_and_request_tags(aws, iam, principal, enforced) -> None:
    # Given the create function's statement: the boundary and the managed-by tag are required, other keys
    # only among the writable ones
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=policy(allow("*", "*")))["Policy"]["Arn"]
    conditions = {
        "StringEquals": {"iam:PermissionsBoundary": boundary, "aws:RequestTag/managed-by": "stack"},
        "ForAllValues:StringLike": {"aws:TagKeys": ["managed-by", "owner"]},
    }
    caller = principal(allow("iam:CreateUser", USERS, Condition=conditions), allow("iam:TagUser", USERS)).client("iam")
    tag = [{"Key": "managed-by", "Value": "stack"}]
    with enforced():
        caller.create_user(UserName="ok", Path="/temporary/", PermissionsBoundary=boundary, Tags=tag)
        refused = []
        for kwargs in (
            {"Tags": tag},  # no boundary: iam:PermissionsBoundary absent
            {"PermissionsBoundary": boundary},  # no tag: aws:RequestTag/managed-by absent
            {"PermissionsBoundary": boundary, "Tags": [*tag, {"Key": "admin", "Value": "x"}]},  # a key not listed
        ):
            with pytest.raises(ClientError) as denied:
                caller.create_user(UserName="refused", Path="/temporary/", **kwargs)
            refused.append(error_code(denied))
    assert refused == ["AccessDenied"] * 3


def test_create_user_with_a_boundary_is_not_authorized_as_put_user_permissions_boundary(
    aws, iam, principal, enforced
) -> None:
    # Given the guard every function role carries: an explicit deny of iam:PutUserPermissionsBoundary.
    # The Service Authorization Reference maps the CreateUser operation to iam:CreateUser and iam:TagUser only.
    boundary = iam.create_policy(PolicyName="boundary", PolicyDocument=policy(allow("*", "*")))["Policy"]["Arn"]
    caller = principal(allow("iam:CreateUser", USERS), deny("iam:PutUserPermissionsBoundary", "*")).client("iam")
    with enforced():
        created = caller.create_user(UserName="ok", Path="/temporary/", PermissionsBoundary=boundary)
        with pytest.raises(ClientError) as denied:
            caller.put_user_permissions_boundary(UserName="ok", PermissionsBoundary=boundary)
    assert created["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    assert error_code(denied) == "AccessDenied"


def test_create_user_with_tags_is_also_authorized_as_tag_user(aws, principal, enforced) -> None:
    # Given a caller allowed iam:CreateUser but not iam:TagUser
    caller = principal(allow("iam:CreateUser", USERS)).client("iam")
    with enforced():
        caller.create_user(UserName="untagged", Path="/temporary/")
        with pytest.raises(ClientError) as denied:
            caller.create_user(UserName="tagged", Path="/temporary/", Tags=[{"Key": "k", "Value": "v"}])
    # Then the tagged create needs iam:TagUser too (the reference's CreateUser row lists both actions)
    assert "iam:TagUser" in denied.value.response["Error"]["Message"]


def test_untag_is_judged_by_the_tag_keys_it_removes(alice, principal, enforced) -> None:
    caller = principal(
        allow("iam:UntagUser", USERS),
        deny("iam:UntagUser", "*", Condition={"ForAnyValue:StringEquals": {"aws:TagKeys": ["managed-by"]}}),
    ).client("iam")
    with enforced():
        caller.untag_user(UserName="alice", TagKeys=["owner"])
        with pytest.raises(ClientError):
            caller.untag_user(UserName="alice", TagKeys=["owner", "managed-by"])


def test_a_condition_on_a_key_the_request_lacks_is_not_met(alice, principal, enforced) -> None:
    # Given allows conditioned on a key no IAM request carries, with StringEquals, ...IfExists and Null
    unknown = "aws:RequestTag/never-sent"
    strict = principal(allow("iam:GetUser", USERS, Condition={"StringEquals": {unknown: "x"}})).client("iam")
    lenient = principal(allow("iam:GetUser", USERS, Condition={"StringEqualsIfExists": {unknown: "x"}})).client("iam")
    absent = principal(allow("iam:GetUser", USERS, Condition={"Null": {unknown: "true"}})).client("iam")
    with enforced():
        with pytest.raises(ClientError):
            strict.get_user(UserName="alice")
        lenient.get_user(UserName="alice")
        absent.get_user(UserName="alice")


def test_principal_arn_is_the_callers_arn(alice, principal, enforced) -> None:
    caller = principal(
        allow("iam:GetUser", USERS),
        deny("iam:GetUser", "*", Condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:user/callers/*"}}),
    ).client("iam")
    with enforced(), pytest.raises(ClientError):
        caller.get_user(UserName="alice")


# --- Secrets Manager, EventBridge and KMS keys ------------------------------------------------------------------


def test_secret_kms_key_and_force_delete_are_judged_from_the_request(aws, principal, enforced) -> None:
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    caller = principal(
        allow(
            ["secretsmanager:CreateSecret", "secretsmanager:DeleteSecret"],
            SECRETS,
            Condition={"StringEqualsIfExists": {"secretsmanager:KmsKeyArn": key}},
        ),
        deny(
            "secretsmanager:DeleteSecret", "*", Condition={"Bool": {"secretsmanager:ForceDeleteWithoutRecovery": True}}
        ),
    ).client("secretsmanager")
    with enforced():
        caller.create_secret(Name="temporary-iam-users/a", SecretString="{}", KmsKeyId=key)
        with pytest.raises(ClientError) as other_key:
            caller.create_secret(Name="temporary-iam-users/b", SecretString="{}", KmsKeyId="alias/aws/secretsmanager")
        with pytest.raises(ClientError) as forced:
            caller.delete_secret(SecretId="temporary-iam-users/a", ForceDeleteWithoutRecovery=True)
        caller.delete_secret(SecretId="temporary-iam-users/a", RecoveryWindowInDays=7)
    assert error_code(other_key) == error_code(forced) == "AccessDeniedException"


def test_a_secrets_resource_tag_is_its_current_tag(aws, principal, enforced) -> None:
    secrets = boto3.client("secretsmanager", region_name=REGION)
    secrets.create_secret(Name="temporary-iam-users/a", SecretString="{}", Tags=[{"Key": "owner", "Value": "a"}])
    secrets.create_secret(Name="temporary-iam-users/b", SecretString="{}", Tags=[{"Key": "owner", "Value": "b"}])
    caller = principal(
        allow(
            "secretsmanager:DescribeSecret",
            SECRETS,
            Condition={"StringEquals": {"secretsmanager:ResourceTag/owner": "a", "aws:ResourceTag/owner": "a"}},
        )
    ).client("secretsmanager")
    with enforced():
        caller.describe_secret(SecretId="temporary-iam-users/a")
        with pytest.raises(ClientError):
            caller.describe_secret(SecretId="temporary-iam-users/b")


def test_put_events_is_judged_by_every_entrys_source(aws, principal, enforced) -> None:
    bus = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default"
    caller = principal(
        allow(
            "events:PutEvents", bus, Condition={"ForAllValues:StringEquals": {"events:source": ["iam-key-lifecycle"]}}
        )
    ).client("events")
    entry = {"Source": "iam-key-lifecycle", "DetailType": "t", "Detail": "{}"}
    with enforced():
        caller.put_events(Entries=[entry])
        with pytest.raises(ClientError):
            caller.put_events(Entries=[entry, {**entry, "Source": "aws.iam"}])


def test_dynamodb_leading_keys_is_the_partition_key_of_the_item_a_request_names(aws, principal, enforced) -> None:
    # Given a table and a caller allowed its items only under one key prefix (dynamodb:LeadingKeys: AWS sets it
    # from the partition key value of GetItem, PutItem, UpdateItem and DeleteItem requests)
    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = dynamodb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )["TableDescription"]["TableArn"]
    caller = principal(
        allow(
            ["dynamodb:GetItem", "dynamodb:PutItem"],
            table,
            Condition={"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["open-conditions/*"]}},
        )
    ).client("dynamodb")
    with enforced():
        # Then an item under the prefix is readable and writable, one outside it neither
        caller.put_item(TableName="locks", Item={"lock_key": {"S": "open-conditions/rotate"}})
        caller.get_item(TableName="locks", Key={"lock_key": {"S": "open-conditions/rotate"}})
        for call in (
            lambda: caller.put_item(TableName="locks", Item={"lock_key": {"S": "alice"}}),
            lambda: caller.get_item(TableName="locks", Key={"lock_key": {"S": "alice"}}),
        ):
            with pytest.raises(ClientError) as refused:
                call()
            assert error_code(refused) == "AccessDeniedException"


def test_a_direct_kms_call_carries_no_via_service(aws, principal, enforced) -> None:
    # Given an allow on the key only through Secrets Manager: AWS sets kms:ViaService only when the service
    # calls KMS for the caller (moto's Secrets Manager and SNS never call KMS, so only this side is exercised)
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
    via = {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}}
    caller = principal(allow("kms:GenerateDataKey", key, Condition=via)).client("kms")
    with enforced(), pytest.raises(ClientError) as denied:
        caller.generate_data_key(KeyId=key, KeySpec="AES_256")
    assert error_code(denied) == "AccessDeniedException"


# --- permissions boundaries ------------------------------------------------------------------------------------


def bounded_user(iam: Any, name: str, identity: list[dict[str, Any]], boundary: list[dict[str, Any]]) -> boto3.Session:
    arn = iam.create_policy(PolicyName=f"{name}-boundary", PolicyDocument=policy(*boundary))["Policy"]["Arn"]
    iam.create_user(UserName=name, Path="/callers/", PermissionsBoundary=arn)
    iam.put_user_policy(UserName=name, PolicyName="identity", PolicyDocument=policy(*identity))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def test_a_boundary_caps_the_identity_policies(alice, iam, enforced) -> None:
    # Given a user whose policies allow GetUser and ListUserTags, and whose boundary allows only GetUser
    caller = bounded_user(
        iam, "bounded", [allow(["iam:GetUser", "iam:ListUserTags"], "*")], [allow("iam:GetUser", "*")]
    ).client("iam")
    with enforced():
        caller.get_user(UserName="alice")
        with pytest.raises(ClientError) as outside:
            caller.list_user_tags(UserName="alice")
    # Then only the intersection is allowed
    assert error_code(outside) == "AccessDenied"


def test_a_boundary_grants_nothing_and_its_deny_wins(alice, iam, enforced) -> None:
    caller = bounded_user(
        iam,
        "bounded",
        [allow("iam:GetUser", "*")],
        [allow("*", "*"), deny("iam:GetUser", f"arn:aws:iam::{ACCOUNT}:user/temporary/bob")],
    ).client("iam")
    with enforced():
        caller.get_user(UserName="alice")
        with pytest.raises(ClientError):
            caller.get_user(UserName="bob")  # the boundary's deny
        with pytest.raises(ClientError):
            caller.list_users()  # the boundary allows it, no identity policy does


def test_an_assumed_roles_boundary_applies_to_its_sessions(alice, iam, enforced) -> None:
    trust = policy(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    )
    boundary = iam.create_policy(PolicyName="role-boundary", PolicyDocument=policy(allow("iam:GetUser", "*")))
    role = iam.create_role(
        RoleName="bounded", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary["Policy"]["Arn"]
    )["Role"]
    iam.put_role_policy(RoleName="bounded", PolicyName="p", PolicyDocument=policy(allow("iam:*", "*")))
    credentials = boto3.client("sts", region_name=REGION).assume_role(RoleArn=role["Arn"], RoleSessionName="session")
    session = boto3.Session(
        aws_access_key_id=credentials["Credentials"]["AccessKeyId"],
        aws_secret_access_key=credentials["Credentials"]["SecretAccessKey"],
        aws_session_token=credentials["Credentials"]["SessionToken"],
        region_name=REGION,
    )
    caller = session.client("iam")
    with enforced():
        caller.get_user(UserName="alice")
        with pytest.raises(ClientError):
            caller.list_user_tags(UserName="alice")


# --- the topic's access policy ----------------------------------------------------------------------------------


@pytest.fixture
def topic(aws: None) -> str:
    return str(boto3.client("sns", region_name=REGION).create_topic(Name="notifications")["TopicArn"])


def cloudwatch_may_publish(topic: str) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": "sns:Publish",
        "Resource": topic,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
        },
    }


def test_a_service_principal_may_publish_only_as_the_topic_policy_allows(topic) -> None:
    alarm = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:errors"
    with_grant = json.loads(policy(cloudwatch_may_publish(topic)))
    assert service_may("cloudwatch.amazonaws.com", "sns:Publish", topic, with_grant, account=ACCOUNT, source_arn=alarm)
    # Another account's alarm, another service, or SNS's default policy: refused
    other = alarm.replace(ACCOUNT, "210987654321")
    assert not service_may(
        "cloudwatch.amazonaws.com", "sns:Publish", topic, with_grant, account="210987654321", source_arn=other
    )
    assert not service_may("events.amazonaws.com", "sns:Publish", topic, with_grant, account=ACCOUNT, source_arn=alarm)
    # SNS's default policy lets the topic's own account publish ("AWS:SourceOwner" = the account), services
    # acting for its resources included: a policy that replaces it must say so itself.
    default = json.loads(
        boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]
    )
    assert service_may("cloudwatch.amazonaws.com", "sns:Publish", topic, default, account=ACCOUNT, source_arn=alarm)
    assert not service_may(
        "cloudwatch.amazonaws.com", "sns:Publish", topic, default, account="210987654321", source_arn=other
    )
    tls_only = json.loads(
        policy(deny("sns:Publish", topic, Principal="*", Condition={"Bool": {"aws:SecureTransport": "false"}}))
    )
    assert not service_may(
        "cloudwatch.amazonaws.com", "sns:Publish", topic, tls_only, account=ACCOUNT, source_arn=alarm
    )


def test_the_topic_policy_can_allow_or_deny_an_iam_principal(topic, principal, enforced) -> None:
    sns = boto3.client("sns", region_name=REGION)
    named = principal(allow("iam:GetUser", "*"))  # no identity policy on the topic
    denied = principal(allow("sns:Publish", topic))
    named_arn = f"arn:aws:iam::{ACCOUNT}:user/callers/caller-1"
    denied_arn = f"arn:aws:iam::{ACCOUNT}:user/callers/caller-2"
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue=policy(
            {"Effect": "Allow", "Principal": {"AWS": named_arn}, "Action": "sns:Publish", "Resource": topic},
            {"Effect": "Deny", "Principal": {"AWS": denied_arn}, "Action": "sns:Publish", "Resource": topic},
        ),
    )
    with enforced():
        named.client("sns").publish(TopicArn=topic, Message="allowed by the topic policy alone")
        with pytest.raises(ClientError) as refused:
            denied.client("sns").publish(TopicArn=topic, Message="denied by the topic policy")
    assert error_code(refused) == "AuthorizationError"


OTHER_ACCOUNT = "210987654321"


def test_another_accounts_caller_needs_the_topic_policy_and_its_own_policy(
    topic, enforced, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cross-account policy evaluation logic: the request must be allowed by an identity policy in the caller's
    account AND by the resource policy of the topic's account. SNS's default topic policy allows only the
    topic's own account (AWS:SourceOwner), so another account's caller is refused until the policy names it."""
    monkeypatch.setenv("MOTO_ACCOUNT_ID", OTHER_ACCOUNT)
    iam = boto3.client("iam", region_name=REGION)
    sessions = []
    for name, statements in (("publisher", [allow("sns:Publish", topic)]), ("no-identity-policy", [])):
        iam.create_user(UserName=name)
        if statements:
            iam.put_user_policy(UserName=name, PolicyName="under-test", PolicyDocument=policy(*statements))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        sessions.append(
            boto3.Session(
                aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
            ).client("sns")
        )
    monkeypatch.delenv("MOTO_ACCOUNT_ID")
    publisher, without_identity_policy = sessions
    sns = boto3.client("sns", region_name=REGION)
    with enforced(), pytest.raises(ClientError) as by_default:
        publisher.publish(TopicArn=topic, Message="the default policy is for the topic's own account")
    assert error_code(by_default) == "AuthorizationError"
    sns.set_topic_attributes(
        TopicArn=topic,
        AttributeName="Policy",
        AttributeValue=policy(
            {"Effect": "Allow", "Principal": {"AWS": OTHER_ACCOUNT}, "Action": "sns:Publish", "Resource": topic}
        ),
    )
    with enforced():
        publisher.publish(TopicArn=topic, Message="allowed on both sides")
        with pytest.raises(ClientError) as one_side:
            without_identity_policy.publish(TopicArn=topic, Message="allowed by the topic policy only")
    assert error_code(one_side) == "AuthorizationError"
    sent = sns_backends[ACCOUNT][REGION].topics[topic].sent_notifications
    assert [message for _, message, *_ in sent] == ["allowed on both sides"]


def test_a_group_membership_change_carries_no_tag_of_the_member(alice, iam, principal, enforced) -> None:
    """AddUserToGroup and RemoveUserFromGroup act on the group (Service Authorization Reference: resource type
    group): the member's tags are not iam:ResourceTag there, so a condition on them never matches."""
    group = iam.create_group(GroupName="team", Path="/temporary/")["Group"]["Arn"]
    on_managed = principal(
        allow("iam:AddUserToGroup", group, Condition={"StringEquals": {"iam:ResourceTag/managed-by": "stack"}})
    ).client("iam")
    unconditioned = principal(allow("iam:AddUserToGroup", group)).client("iam")
    with enforced():
        with pytest.raises(ClientError) as refused:
            on_managed.add_user_to_group(GroupName="team", UserName="alice")
        unconditioned.add_user_to_group(GroupName="team", UserName="alice")
    assert error_code(refused) == "AccessDenied"
