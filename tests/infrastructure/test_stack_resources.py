"""The functions, guardrails, encryption and outputs of the synthesized stack."""

from __future__ import annotations

import json

import pytest

from key_lifecycle.models.settings import ENVIRONMENT
from tests.support.stack_template import FUNCTIONS, SECRETS, STACK_ROLES, Synth, normalize, render

pytestmark = pytest.mark.xdist_group("synth")

TIMEOUTS = {"create_keys": 60, "rotate_keys": 300, "cleanup_users": 300, "detect_changes": 60}


def function(s: Synth, name: str) -> dict:
    return s.properties("AWS::Lambda::Function", f"Functions{FUNCTIONS[name]}Function")


def test_stack_creates_no_iam_user_access_key_or_secret(default_synth: Synth) -> None:
    # Given the template's resource types
    types = {resource["Type"] for resource in default_synth.resources.values()}
    # Then no user, key, group membership or secret is made at deploy time: the functions make them at run time
    assert not types & {
        "AWS::IAM::User",
        "AWS::IAM::AccessKey",
        "AWS::IAM::UserToGroupAddition",
        "AWS::SecretsManager::Secret",
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_run_the_asset_handler_on_arm64_python313_with_powertools(default_synth: Synth, name: str) -> None:
    props = function(default_synth, name)
    assert props["Handler"] == f"key_lifecycle.handlers.{name}.lambda_handler"
    assert props["Runtime"] == "python3.13"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == 256
    assert props["Timeout"] == TIMEOUTS[name]
    assert props["TracingConfig"] == {"Mode": "Active"}
    # The layer ARN is the Powertools SSM parameter (tests/infrastructure/test_stack_powertools.py)
    assert [default_synth.template["Parameters"][ref["Ref"]]["Type"] for ref in props["Layers"]] == [
        "AWS::SSM::Parameter::Value<String>"
    ]
    # No reservation by default: an account at the lowest concurrency quota cannot reserve any, and the
    # per-user locks, not concurrency, keep runs from overlapping
    assert "ReservedConcurrentExecutions" not in props
    assert render(props["Role"]) == default_synth.arn("AWS::IAM::Role", f"Functions{FUNCTIONS[name]}Role")


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_log_json_to_their_own_log_group(default_synth: Synth, name: str) -> None:
    props = function(default_synth, name)
    assert render(props["LoggingConfig"]) == {
        "LogFormat": "JSON",
        "LogGroup": default_synth.ref("AWS::Logs::LogGroup", f"Functions{FUNCTIONS[name]}Logs"),
    }
    log_group = default_synth.properties("AWS::Logs::LogGroup", f"Functions{FUNCTIONS[name]}Logs")
    assert log_group["RetentionInDays"] == 365


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_failed_async_invocations_go_to_the_on_failure_queue(default_synth: Synth, name: str) -> None:
    function_ref = default_synth.ref("AWS::Lambda::Function", f"Functions{FUNCTIONS[name]}Function")
    configs = [
        render(r["Properties"])
        for r in default_synth.of_type("AWS::Lambda::EventInvokeConfig").values()
        if render(r["Properties"]["FunctionName"]) == function_ref
    ]
    assert configs == [
        {
            "FunctionName": function_ref,
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 3600,
            "DestinationConfig": {
                "OnFailure": {"Destination": default_synth.arn("AWS::SQS::Queue", "FunctionsOnFailureQueue")}
            },
        }
    ]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_environment_is_exactly_the_engine_settings_plus_powertools(default_synth: Synth, name: str) -> None:
    # Given a function's environment
    env = render(function(default_synth, name)["Environment"]["Variables"])
    # Then it sets every variable the settings model reads, and nothing else but Powertools' own
    settings_keys = {key for key in env if not key.startswith("POWERTOOLS_")}
    assert settings_keys == set(ENVIRONMENT)
    assert {key: env[key] for key in env if key.startswith("POWERTOOLS_")} == {
        "POWERTOOLS_SERVICE_NAME": name,
        "POWERTOOLS_METRICS_NAMESPACE": "IamKeyLifecycle",
        "POWERTOOLS_LOG_LEVEL": "INFO",
    }
    # And the values are the cdk.json defaults and the stack's own resources
    assert env["MANAGED_USER_PATH"] == "/temporary/"
    assert env["MANAGED_BY_TAG_VALUE"] == "iam-key-lifecycle"
    assert env["SECRET_PREFIX"] == "temporary-iam-users/"
    assert env["ROTATE_AFTER_DAYS"] == "90"
    assert env["VERIFY_TIMEOUT_SECONDS"] == "30"
    assert env["DRY_RUN"] == "false"
    assert env["PERMISSIONS_BOUNDARY_ARN"] == default_synth.ref(
        "AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary"
    )
    assert env["TEMPORARY_USER_GROUP"] == default_synth.ref("AWS::IAM::Group", "TemporaryUserGuardrailsGroup")
    assert env["NOTIFICATION_TOPIC_ARN"] == default_synth.ref("AWS::SNS::Topic", "NotificationsTopic")


def test_functions_receive_the_secrets_key(default_synth: Synth) -> None:
    env = render(function(default_synth, "create_keys")["Environment"]["Variables"])
    assert env["SECRET_KMS_KEY_ID"] == default_synth.arn("AWS::KMS::Key", "SecretsEncryptionKey")


def test_context_reaches_functions_and_logs(variant_synth: Synth) -> None:
    # Given the variant context
    props = function(variant_synth, "rotate_keys")
    env = render(props["Environment"]["Variables"])
    # Then the settings, the reserved concurrency and the retention follow it
    assert env["MANAGED_USER_PATH"] == "/contractors/"
    assert env["MANAGED_BY_TAG_VALUE"] == "platform-team"
    assert env["SECRET_PREFIX"] == "contractor-keys/"
    assert env["DRY_RUN"] == "true"
    assert props["ReservedConcurrentExecutions"] == 2
    assert variant_synth.properties("AWS::Logs::LogGroup", "FunctionsRotateKeysLogs")["RetentionInDays"] == 30


def test_bootstrap_version_rule_follows_the_context(default_synth: Synth, variant_synth: Synth) -> None:
    assert "CheckBootstrapVersion" in default_synth.template.get("Rules", {})
    assert "CheckBootstrapVersion" not in variant_synth.template.get("Rules", {})


def test_boundary_caps_temporary_users_and_denies_escalation(default_synth: Synth) -> None:
    # Given the permissions boundary policy
    props = default_synth.properties("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")
    statements = {s["Sid"]: s for s in (normalize(st) for st in props["PolicyDocument"]["Statement"])}
    # Then it is attached to nothing: a boundary, not a grant
    assert not {"Roles", "Users", "Groups"} & set(props)
    # And it denies every IAM write, removing the boundary, the stored secrets and their key, and the stack's roles
    assert statements["CapAtTheGroupPolicies"]["Effect"] == "Allow"
    iam_writes = statements["DenyIamWrites"]
    assert iam_writes["Effect"] == "Deny" and iam_writes["Resource"] == ["*"]
    for verb in ("Create*", "Delete*", "Put*", "Attach*", "Detach*", "Update*", "Add*", "Remove*", "Tag*", "Untag*"):
        assert f"iam:{verb}" in iam_writes["Action"]
    assert "iam:PassRole" in iam_writes["Action"]
    assert statements["DenyBoundaryRemoval"]["Action"] == [
        "iam:DeleteUserPermissionsBoundary",
        "iam:PutUserPermissionsBoundary",
    ]
    assert statements["DenyStoredSecrets"]["Action"] == ["secretsmanager:*"]
    assert statements["DenyStoredSecrets"]["Resource"] == [SECRETS]
    assert statements["DenySecretsKey"]["Action"] == ["kms:Decrypt"]
    assert statements["DenySecretsKey"]["Resource"] == [default_synth.arn("AWS::KMS::Key", "SecretsEncryptionKey")]
    assert statements["DenyAssumingStackRoles"]["Action"] == ["sts:AssumeRole"]
    assert statements["DenyAssumingStackRoles"]["Resource"] == [STACK_ROLES]
    assert all(s["Effect"] == "Deny" for sid, s in statements.items() if sid != "CapAtTheGroupPolicies")


def test_group_carries_only_the_allowed_managed_policies(default_synth: Synth, variant_synth: Synth) -> None:
    group = render(default_synth.properties("AWS::IAM::Group", "TemporaryUserGuardrailsGroup"))
    assert group == {"ManagedPolicyArns": ["arn:${AWS::Partition}:iam::aws:policy/IAMReadOnlyAccess"]}
    variant = render(variant_synth.properties("AWS::IAM::Group", "TemporaryUserGuardrailsGroup"))
    assert variant["ManagedPolicyArns"] == [
        "arn:${AWS::Partition}:iam::aws:policy/ReadOnlyAccess",
        "arn:${AWS::Partition}:iam::aws:policy/job-function/ViewOnlyAccess",
    ]


def test_secrets_key_rotates_and_only_functions_use_it_through_secrets_manager(default_synth: Synth) -> None:
    # Given the secrets key
    props = default_synth.properties("AWS::KMS::Key", "SecretsEncryptionKey")
    statements = {s["Sid"]: s for s in (render(st) for st in props["KeyPolicy"]["Statement"])}
    assert props["EnableKeyRotation"] is True
    # Then the account administers it but has no cryptographic use of it, so no IAM policy alone can decrypt
    admin = statements["AccountAdministersTheKeyButCannotUseIt"]
    assert admin["Principal"] == {"AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    crypto = {"kms:*", "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:GenerateDataKey*", "kms:ReEncrypt*"}
    assert not crypto & set(admin["Action"])
    assert not {"kms:Create*", "kms:CreateGrant"} & set(admin["Action"]), "a grant would hand out decryption"
    # And only the create and rotate roles may use it, and only through Secrets Manager in this account
    use = statements["FunctionsUseTheKeyThroughSecretsManager"]
    # (the account as principal, narrowed to the two roles by ARN: KMS rejects a role principal IAM has not
    # propagated yet, and a condition is never checked against IAM)
    assert use["Principal"] == {"AWS": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}
    assert use["Condition"] == {
        "StringEquals": {"kms:ViaService": "secretsmanager.${AWS::Region}.amazonaws.com"},
        "ArnEquals": {
            "aws:PrincipalArn": [
                default_synth.arn("AWS::IAM::Role", "FunctionsCreateKeysRole"),
                default_synth.arn("AWS::IAM::Role", "FunctionsRotateKeysRole"),
            ]
        },
    }
    assert set(statements) == {"AccountAdministersTheKeyButCannotUseIt", "FunctionsUseTheKeyThroughSecretsManager"}


def test_listed_secret_readers_may_decrypt_through_secrets_manager(variant_synth: Synth) -> None:
    props = variant_synth.properties("AWS::KMS::Key", "SecretsEncryptionKey")
    statements = {s["Sid"]: s for s in (render(st) for st in props["KeyPolicy"]["Statement"])}
    readers = statements["ReadersDecryptThroughSecretsManager"]
    assert readers["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/ci-deployer"}
    assert readers["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    assert readers["Condition"]["StringEquals"]["kms:ViaService"] == "secretsmanager.${AWS::Region}.amazonaws.com"


def test_topic_is_encrypted_with_a_rotating_key_and_tls_only(default_synth: Synth) -> None:
    topic = render(default_synth.properties("AWS::SNS::Topic", "NotificationsTopic"))
    assert topic["KmsMasterKeyId"] == default_synth.arn("AWS::KMS::Key", "NotificationsKey")
    assert default_synth.properties("AWS::KMS::Key", "NotificationsKey")["EnableKeyRotation"] is True
    policy = render(default_synth.properties("AWS::SNS::TopicPolicy", "NotificationsTopicPolicy"))
    assert {
        "Effect": "Deny",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }.items() <= policy["PolicyDocument"]["Statement"][0].items()
    # CloudWatch alarms publish to the encrypted topic as the CloudWatch service
    key = default_synth.properties("AWS::KMS::Key", "NotificationsKey")
    key_statements = [render(s) for s in key["KeyPolicy"]["Statement"]]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in key_statements)
    assert not default_synth.of_type("AWS::SNS::Subscription")


def test_email_subscription_only_when_configured(variant_synth: Synth) -> None:
    subscriptions = [render(r["Properties"]) for r in variant_synth.of_type("AWS::SNS::Subscription").values()]
    assert subscriptions == [
        {
            "Protocol": "email",
            "TopicArn": variant_synth.ref("AWS::SNS::Topic", "NotificationsTopic"),
            "Endpoint": "security@example.com",
        }
    ]


def test_every_queue_is_kms_encrypted_and_tls_only(default_synth: Synth) -> None:
    queues = default_synth.of_type("AWS::SQS::Queue")
    assert len(queues) == 8  # the on-failure queue, one dead-letter queue per schedule (6), the change rule's
    policies = [render(p["Properties"]) for p in default_synth.of_type("AWS::SQS::QueuePolicy").values()]
    for logical_id, queue in queues.items():
        if logical_id.startswith("ChangeDetectionRuleDeadLetterQueue"):
            # EventBridge cannot send to a queue encrypted with the AWS managed key aws/sqs: SSE-SQS instead.
            assert queue["Properties"]["SqsManagedSseEnabled"] is True, logical_id
        else:
            assert queue["Properties"]["KmsMasterKeyId"] == "alias/aws/sqs", logical_id
        tls = [
            st
            for p in policies
            if "${" + logical_id + "}" in p["Queues"]
            for st in p["PolicyDocument"]["Statement"]
            if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert tls, f"{logical_id} accepts requests without TLS"


def test_outputs_give_names_arns_and_a_ready_create_command(default_synth: Synth) -> None:
    outputs = {key: render(value["Value"]) for key, value in default_synth.template["Outputs"].items()}
    create = default_synth.ref("AWS::Lambda::Function", "FunctionsCreateKeysFunction")
    assert outputs["CreateKeysFunctionName"] == create
    assert outputs["RotateKeysFunctionName"] == default_synth.ref(
        "AWS::Lambda::Function", "FunctionsRotateKeysFunction"
    )
    assert outputs["CleanupUsersFunctionName"] == default_synth.ref(
        "AWS::Lambda::Function", "FunctionsCleanupUsersFunction"
    )
    assert outputs["NotificationTopicArn"] == default_synth.ref("AWS::SNS::Topic", "NotificationsTopic")
    assert outputs["SecretPrefix"] == "temporary-iam-users/"
    assert outputs["TemporaryUserGroupName"] == default_synth.ref("AWS::IAM::Group", "TemporaryUserGuardrailsGroup")
    assert outputs["PermissionsBoundaryArn"] == default_synth.ref(
        "AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary"
    )
    command = outputs["ManualCreateCommand"]
    assert command.startswith(f"aws lambda invoke --function-name {create} --cli-binary-format raw-in-base64-out ")
    payload = command.split("--payload '")[1].split("'")[0]
    assert json.loads(payload) == {
        "action": "create_user",
        "user_name": "temporary-iam-user",
        "owner": "platform-team@example.com",
        "ttl_days": 7,
    }
    assert command.endswith(" out.json")
