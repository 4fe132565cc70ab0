"""CloudFormation in the local account creates what our template declares, as AWS CloudFormation does:
schedule groups and schedules, IAM groups with their policies, managed policies on roles, inline role policies
and key policies stored as JSON (so the role and the key can actually be used); and DeleteStack keeps what the
template retains."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication
from moto.sts.models import sts_backends

from local_account.emulator import aws_fidelity
from tests.local_account.emulator_helpers import ACCOUNT, REGION

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ_USERS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
KEY_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
    ],
}
TEMPLATE = {
    "Resources": {
        "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": READ_USERS}},
        "FunctionRole": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": TRUST,
                "Policies": [{"PolicyName": "inline", "PolicyDocument": READ_USERS}],
                "ManagedPolicyArns": [{"Ref": "Boundary"}],
            },
        },
        "TemporaryUsers": {
            "Type": "AWS::IAM::Group",
            "Properties": {
                "ManagedPolicyArns": [
                    {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/IAMReadOnlyAccess"]]}
                ],
                "Policies": [{"PolicyName": "inline", "PolicyDocument": READ_USERS}],
            },
        },
        "DeadLetters": {"Type": "AWS::SQS::Queue"},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": KEY_POLICY, "EnableKeyRotation": True}},
        "Schedules": {"Type": "AWS::Scheduler::ScheduleGroup"},
        "Nightly": {
            "Type": "AWS::Scheduler::Schedule",
            "Properties": {
                "GroupName": {"Ref": "Schedules"},
                "ScheduleExpression": "cron(0 6 * * ? *)",
                "ScheduleExpressionTimezone": "Europe/Berlin",
                "FlexibleTimeWindow": {"Mode": "OFF"},
                "State": "ENABLED",
                "Target": {
                    "Arn": {"Fn::GetAtt": ["DeadLetters", "Arn"]},
                    "RoleArn": {"Fn::GetAtt": ["FunctionRole", "Arn"]},
                    "Input": '{"action":"reconcile"}',
                    "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
                },
            },
        },
    },
    "Outputs": {"ScheduleArn": {"Value": {"Fn::GetAtt": ["Nightly", "Arn"]}}},
}


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, str]]:
    # One stack for the module: loading AWS managed policies into moto takes seconds.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", "testing")
        env.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        env.delenv("AWS_ENDPOINT_URL", raising=False)
        env.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
        with mock_aws(), aws_fidelity():
            cloudformation = boto3.client("cloudformation", region_name=REGION)
            cloudformation.create_stack(StackName="under-test", TemplateBody=json.dumps(TEMPLATE))
            resources = cloudformation.describe_stack_resources(StackName="under-test")["StackResources"]
            yield {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def test_schedules_and_their_group_are_created_with_resolved_references(stack) -> None:
    scheduler = boto3.client("scheduler", region_name=REGION)
    # When the stack is created, then its schedule group and schedule exist, readable through the Scheduler API
    schedule = scheduler.get_schedule(GroupName=stack["Schedules"], Name=stack["Nightly"])
    assert schedule["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert schedule["Target"]["Input"] == '{"action":"reconcile"}'
    assert schedule["Target"]["Arn"].startswith(f"arn:aws:sqs:{REGION}:{ACCOUNT}:")
    assert schedule["Target"]["RoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/{stack['FunctionRole']}"
    assert schedule["Target"]["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}


def test_an_iam_group_is_created_with_its_managed_and_inline_policies(stack) -> None:
    iam = boto3.client("iam", region_name=REGION)
    group = stack["TemporaryUsers"]
    attached = iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/IAMReadOnlyAccess"]
    assert iam.get_group_policy(GroupName=group, PolicyName="inline")["PolicyDocument"] == READ_USERS


def test_managed_policy_arns_of_a_role_are_attached(stack) -> None:
    iam = boto3.client("iam", region_name=REGION)
    attached = iam.list_attached_role_policies(RoleName=stack["FunctionRole"])["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [stack["Boundary"]]


def test_inline_role_policies_are_stored_as_json_and_the_role_can_be_used(stack) -> None:
    iam = boto3.client("iam", region_name=REGION)
    # When the inline policy is read back, then it is the JSON document (moto stored a Python repr)
    assert iam.get_role_policy(RoleName=stack["FunctionRole"], PolicyName="inline")["PolicyDocument"] == READ_USERS
    # And a session of the role may do what the policy allows, with enforcement on
    assumed = sts_backends[ACCOUNT]["aws"].assume_role(
        region_name=REGION,
        role_session_name="function",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/{stack['FunctionRole']}",
        policy=None,  # type: ignore[arg-type]
        duration=900,
        external_id=None,  # type: ignore[arg-type]
    )
    as_role: Any = boto3.client(
        "iam",
        region_name=REGION,
        aws_access_key_id=assumed.access_key_id,
        aws_secret_access_key=assumed.secret_access_key,
        aws_session_token=assumed.session_token,
    )
    with enable_iam_authentication():
        assert as_role.list_users()["Users"] == []


def test_a_key_policy_is_stored_as_json_and_the_key_can_be_described(stack) -> None:
    kms = boto3.client("kms", region_name=REGION)
    # When the key is described (moto checks the stored policy first), then KMS answers (moto kept a dict and failed)
    assert kms.describe_key(KeyId=stack["Key"])["KeyMetadata"]["KeyState"] == "Enabled"
    # And the policy reads back as the JSON document, as GetKeyPolicy returns it
    assert json.loads(kms.get_key_policy(KeyId=stack["Key"], PolicyName="default")["Policy"]) == KEY_POLICY


def test_delete_stack_keeps_retained_resources_and_retain_except_on_create_ones(monkeypatch) -> None:
    # "RetainExceptOnCreate behaves like Retain for stack operations, except for the stack operation that initially
    # created the resource" (CloudFormation Template Reference, DeletionPolicy attribute): DeleteStack keeps it.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    template = {
        "Resources": {
            name: {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": name}, **policy}
            for name, policy in {
                "kept-except-on-create": {"DeletionPolicy": "RetainExceptOnCreate", "UpdateReplacePolicy": "Retain"},
                "kept": {"DeletionPolicy": "Retain"},
                "deleted": {"DeletionPolicy": "Delete"},
                "deleted-by-default": {},
            }.items()
        }
    }
    with mock_aws(), aws_fidelity():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        logs = boto3.client("logs", region_name=REGION)
        cloudformation.create_stack(StackName="torn-down", TemplateBody=json.dumps(template))
        assert len(logs.describe_log_groups()["logGroups"]) == 4
        # When the stack is deleted
        cloudformation.delete_stack(StackName="torn-down")
        # Then the retained log groups stay, the others go
        remaining = sorted(g["logGroupName"] for g in logs.describe_log_groups()["logGroups"])
        assert remaining == ["kept", "kept-except-on-create"]


def test_a_resource_that_cannot_be_deleted_leaves_the_stack_delete_failed(monkeypatch) -> None:
    # DynamoDB DeleteTable: "a table with deletion protection enabled ... can't be deleted"; CloudFormation then reports
    # the stack DELETE_FAILED (DeleteStack itself succeeds), and a DeleteStack once the cause is gone completes it.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    table = {
        "Type": "AWS::DynamoDB::Table",
        "DeletionPolicy": "Delete",
        "Properties": {
            "AttributeDefinitions": [{"AttributeName": "k", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "k", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "DeletionProtectionEnabled": True,
        },
    }
    with mock_aws(), aws_fidelity():
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        cloudformation.create_stack(StackName="protected", TemplateBody=json.dumps({"Resources": {"Locks": table}}))
        # When the stack is deleted, then the call succeeds and the stack stays, DELETE_FAILED, with the table
        cloudformation.delete_stack(StackName="protected")
        [stack] = cloudformation.describe_stacks(StackName="protected")["Stacks"]
        assert stack["StackStatus"] == "DELETE_FAILED"
        events = cloudformation.describe_stack_events(StackName="protected")["StackEvents"]
        assert any(
            e["ResourceStatus"] == "DELETE_FAILED" and "DeletionProtection" in e["ResourceStatusReason"] for e in events
        )
        [name] = dynamodb.list_tables()["TableNames"]
        # When the protection is turned off and the stack deleted again, then it is gone with its table
        dynamodb.update_table(TableName=name, DeletionProtectionEnabled=False)
        cloudformation.delete_stack(StackName="protected")
        assert dynamodb.list_tables()["TableNames"] == []
        summaries = cloudformation.list_stacks()["StackSummaries"]
        assert [s["StackStatus"] for s in summaries if s["StackName"] == "protected"] == ["DELETE_COMPLETE"]
