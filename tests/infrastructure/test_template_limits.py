"""The synthesized templates against AWS's documented limits and rules that no synth or lint checks: IAM policy
sizes, the Lambda environment size, condition keys the conditioned actions support, the KMS key policies each
service needs, and EventBridge Scheduler's retry limits."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from app import build_app
from stacks.config import cdk_json_context

# Worst-case values for the template's tokens: the longest partition, region and ids, and an ARN of a resource
# the stack names (role, key, topic, table) at CloudFormation's longest generated names.
_WORST = {
    "AWS::Partition": "aws-us-gov",
    "AWS::Region": "ap-southeast-2",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com.cn",
    "AWS::StackName": "IamKeyLifecycle",
}
_LONG_ARN = "arn:aws-us-gov:iam::123456789012:role/iam-key-lifecycle/" + "X" * 64


def _worst(value: Any) -> Any:
    """The template value with every intrinsic replaced by the longest string it can resolve to."""
    if isinstance(value, list):
        return [_worst(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return _WORST.get(value["Ref"], _LONG_ARN)
        if set(value) == {"Fn::GetAtt"}:
            return _LONG_ARN
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(_worst(part)) for part in parts)
        if set(value) == {"Fn::Sub"} or set(value) == {"Fn::Select"} or set(value) == {"Fn::Split"}:
            return _LONG_ARN
        return {key: _worst(item) for key, item in value.items()}
    return value


def _size(document: Any) -> int:
    # IAM counts policy size without white space.
    return len(re.sub(r"\s", "", json.dumps(_worst(document))))


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Every template with every optional part on, outside us-east-1, with a long path, prefix and readers."""
    outdir = tmp_path_factory.mktemp("cdk-limits")
    context = {
        **cdk_json_context(),
        "create_cloudtrail_trail": True,
        "out_of_band_key_response": "deactivate",
        "managed_user_path": "/temporary/" + "p" * 40 + "/",
        "secret_prefix": "temporary-iam-users-" + "s" * 40 + "/",
        "notification_email": "security-team@example.com",
    }
    app = build_app(context, outdir=str(outdir), region="eu-west-1")
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
    return {p.name.removesuffix(".template.json"): json.loads(p.read_text()) for p in outdir.glob("*.template.json")}


def _resources(templates: dict[str, dict[str, Any]], resource_type: str) -> dict[str, dict[str, Any]]:
    return {
        f"{stack}/{logical_id}": resource["Properties"]
        for stack, template in templates.items()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def test_each_roles_inline_policies_fit_in_10240_characters(templates: dict[str, dict[str, Any]]) -> None:
    # IAM quotas: "Role policy size ... 10,240 characters" (aggregate of inline policies, white space not counted)
    per_role: dict[str, int] = {}
    for policy in _resources(templates, "AWS::IAM::Policy").values():
        for role in policy.get("Roles", []):
            per_role[json.dumps(role)] = per_role.get(json.dumps(role), 0) + _size(policy["PolicyDocument"])
    for role in _resources(templates, "AWS::IAM::Role").values():
        for inline in role.get("Policies", []):
            per_role[role.get("Description", "")] = per_role.get(role.get("Description", ""), 0) + _size(inline)
    assert per_role
    biggest = max(per_role.values())
    assert biggest <= 10_240, per_role


def test_each_managed_policy_fits_in_6144_characters(templates: dict[str, dict[str, Any]]) -> None:
    # IAM quotas: "Managed policy size 6,144 characters" (white space not counted)
    policies = _resources(templates, "AWS::IAM::ManagedPolicy")
    assert policies
    for name, policy in policies.items():
        assert _size(policy["PolicyDocument"]) <= 6_144, name


def test_each_functions_environment_fits_in_4_kb(templates: dict[str, dict[str, Any]]) -> None:
    # Lambda quotas: "Function environment variables: 4 KB, for all environment variables associated with the function"
    functions = _resources(templates, "AWS::Lambda::Function")
    assert len(functions) == 4
    for name, function in functions.items():
        variables = _worst(function["Environment"]["Variables"])
        size = sum(len(key.encode()) + len(str(value).encode()) for key, value in variables.items())
        assert size <= 4_096, (name, size)


def test_schedule_retries_are_within_schedulers_limits_and_have_a_dead_letter_queue(
    templates: dict[str, dict[str, Any]],
) -> None:
    # EventBridge Scheduler RetryPolicy: MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400
    schedules = _resources(templates, "AWS::Scheduler::Schedule")
    assert len(schedules) == 6
    for name, schedule in schedules.items():
        retry = schedule["Target"]["RetryPolicy"]
        assert 0 <= retry["MaximumRetryAttempts"] <= 185, name
        assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86_400, name
        assert "Arn" in schedule["Target"]["DeadLetterConfig"], name


def test_eventbridge_dead_letter_queues_use_a_key_eventbridge_may_use(templates: dict[str, dict[str, Any]]) -> None:
    # EventBridge (dead-letter queues): a queue encrypted with the AWS managed key alias/aws/sqs cannot receive
    # EventBridge's messages (its key policy cannot be changed); SSE-SQS or a customer managed key can.
    targets = [
        target
        for rule in _resources(templates, "AWS::Events::Rule").values()
        for target in rule.get("Targets", [])
        if "DeadLetterConfig" in target
    ]
    assert len(targets) >= 2  # the change rule and the forwarding rule
    queues = {
        logical_id: resource["Properties"]
        for template in templates.values()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::SQS::Queue"
    }
    for target in targets:
        [queue_id, _] = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"]
        queue = queues[queue_id]
        assert queue.get("SqsManagedSseEnabled") is True or not str(queue.get("KmsMasterKeyId", "")).startswith(
            "alias/aws/"
        ), queue_id


def _key_policy(templates: dict[str, dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    keys = [
        resource["Properties"]["KeyPolicy"]["Statement"]
        for template in templates.values()
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::KMS::Key" and logical_id.startswith(prefix)
    ]
    assert len(keys) == 1, prefix
    return list(keys[0])


def _service_statement(statements: list[dict[str, Any]], service: str) -> dict[str, Any]:
    found = [s for s in statements if json.dumps(s.get("Principal", {})).find(service) >= 0]
    assert len(found) == 1, service
    return found[0]


def test_the_topic_key_lets_cloudwatch_alarms_encrypt_their_messages(templates: dict[str, dict[str, Any]]) -> None:
    # SNS SSE: "the key policy must allow the service that publishes (cloudwatch.amazonaws.com) kms:GenerateDataKey*
    # and kms:Decrypt"
    statement = _service_statement(_key_policy(templates, "NotificationsKey"), "cloudwatch.amazonaws.com")
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(statement["Action"])


def test_the_logs_key_lets_cloudwatch_logs_use_it_for_this_accounts_log_groups_only(
    templates: dict[str, dict[str, Any]],
) -> None:
    # CloudWatch Logs (encrypt log data with KMS): the key policy allows logs.<region>.amazonaws.com, narrowed by
    # kms:EncryptionContext:aws:logs:arn
    statement = _service_statement(_key_policy(templates, "FunctionsLogsKey"), "logs.")
    assert {"kms:Encrypt*", "kms:Decrypt*", "kms:GenerateDataKey*"} <= set(statement["Action"])
    context = json.dumps(statement["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    assert ":log-group:*" in context and "AWS::AccountId" in context
    for name, log_group in _resources(templates, "AWS::Logs::LogGroup").items():
        if name.startswith("IamKeyLifecycle/Functions"):
            assert log_group["KmsKeyId"]["Fn::GetAtt"][0].startswith("FunctionsLogsKey"), name


# Condition keys each conditioned action supports, from the IAM Service Authorization Reference ("Actions,
# resources, and condition keys for ..."): the action's own keys and those of the resource type it acts on.
# A condition on a key the action does not support never matches: on an Allow the statement never applies, on a
# Deny the statement never denies.
_USER_KEYS = {"aws:ResourceTag/*", "iam:ResourceTag/*"}
SUPPORTED = {
    "iam:CreateUser": {"aws:RequestTag/*", "aws:TagKeys", "iam:PermissionsBoundary"} | _USER_KEYS,
    "iam:TagUser": {"aws:RequestTag/*", "aws:TagKeys"} | _USER_KEYS,
    "iam:UntagUser": {"aws:TagKeys"} | _USER_KEYS,
    "iam:PutUserPermissionsBoundary": {"iam:PermissionsBoundary"} | _USER_KEYS,
    "iam:AddUserToGroup": set(),
    # DynamoDB GetItem: dynamodb:Attributes, EnclosingOperation, LeadingKeys, ReturnConsumedCapacity and Select.
    "dynamodb:GetItem": {
        "dynamodb:Attributes",
        "dynamodb:EnclosingOperation",
        "dynamodb:LeadingKeys",
        "dynamodb:ReturnConsumedCapacity",
        "dynamodb:Select",
    },
    "iam:RemoveUserFromGroup": set(),
    **{
        f"iam:{action}": set(_USER_KEYS)
        for action in (
            "CreateAccessKey",
            "DeleteAccessKey",
            "UpdateAccessKey",
            "DeleteUser",
            "DeleteLoginProfile",
            "DeactivateMFADevice",
            "DeleteSigningCertificate",
            "DeleteSSHPublicKey",
            "DeleteServiceSpecificCredential",
            "DeleteUserPolicy",
            "DetachUserPolicy",
            "GetUser",
            "ListUserTags",
            "ListAccessKeys",
            "GetAccessKeyLastUsed",
            "AttachUserPolicy",
            "PutUserPolicy",
            "UpdateUser",
            "DeleteUserPermissionsBoundary",
        )
    },
    "secretsmanager:CreateSecret": {
        "aws:RequestTag/*",
        "aws:ResourceTag/*",
        "aws:TagKeys",
        "secretsmanager:Name",
        "secretsmanager:Description",
        "secretsmanager:KmsKeyArn",
        "secretsmanager:ResourceTag/*",
        "secretsmanager:AddReplicaRegions",
        "secretsmanager:ForceOverwriteReplicaSecret",
    },
    "secretsmanager:DeleteSecret": {
        "aws:ResourceTag/*",
        "secretsmanager:SecretId",
        "secretsmanager:ResourceTag/*",
        "secretsmanager:resource/AllowRotationLambdaArn",
        "secretsmanager:RecoveryWindowInDays",
        "secretsmanager:ForceDeleteWithoutRecovery",
    },
    "events:PutEvents": {"events:source", "events:detail-type", "events:eventBusInvocation"},
    "securityhub:BatchImportFindings": {"securityhub:TargetAccount"},
    "dynamodb:PutItem": {
        "dynamodb:LeadingKeys",
        "dynamodb:Attributes",
        "dynamodb:ReturnValues",
        "dynamodb:EnclosingOperation",
    },
    **{
        f"kms:{action}": {"kms:ViaService", "kms:CallerAccount", "kms:EncryptionContext:*", "kms:EncryptionContextKeys"}
        for action in ("Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKey*", "ReEncrypt*", "DescribeKey")
    },
}


def _supports(action: str, key: str) -> bool:
    if key.startswith("aws:") and not key.startswith(("aws:RequestTag/", "aws:ResourceTag/", "aws:TagKeys")):
        return True  # global condition keys apply to every action
    return any(re.fullmatch(re.escape(pattern).replace(r"\*", ".*"), key) for pattern in SUPPORTED[action])


def test_every_condition_key_is_supported_by_every_action_of_its_statement(
    templates: dict[str, dict[str, Any]],
) -> None:
    checked = 0
    for policy in [
        *_resources(templates, "AWS::IAM::Policy").values(),
        *_resources(templates, "AWS::IAM::ManagedPolicy").values(),
    ]:
        for statement in policy["PolicyDocument"]["Statement"]:
            condition = statement.get("Condition")
            if not condition:
                continue
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            keys = {key for operator in condition.values() for key in operator}
            for action in actions:
                assert action in SUPPORTED, (
                    f"{action} is conditioned on {sorted(keys)}: add its keys from the reference"
                )
                for key in keys:
                    assert _supports(action, key), f"{action} does not support the condition key {key}"
                    checked += 1
    assert checked > 20


def test_the_limits_helpers_see_the_worst_case(templates: dict[str, dict[str, Any]]) -> None:
    # The token renderer must not hide length: a Join of the partition and account grows to its longest value
    assert _worst({"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":", {"Ref": "AWS::AccountId"}]]}) == (
        "arn:aws-us-gov:123456789012"
    )
