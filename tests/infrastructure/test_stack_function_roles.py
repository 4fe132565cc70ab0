"""Each function role, statement by statement: what it may do, scoped how, and what it may never do."""

from __future__ import annotations

from typing import Any

import pytest
from stack_template import FUNCTIONS, SECRETS, STACK_ROLES, USERS, Synth, by_sid, normalize, render

pytestmark = pytest.mark.xdist_group("synth")

WRITABLE_TAG_KEYS = [
    "managed-by",
    "owner",
    "expires-at",
    "purpose",
    "provisioning",
    "current-since:*",
    "deactivated-at:*",
    "pending-key",
]
LIFECYCLE_RECORDS = ["current-since:*", "deactivated-at:*", "pending-key"]
IAM_WRITE_VERBS = (
    "Add Attach Change Create Deactivate Delete Detach Enable Put Remove Reset Resync Set Tag Untag Update Upload"
)
IAM_WRITE_ACTIONS = [*(f"iam:{verb}*" for verb in IAM_WRITE_VERBS.split()), "iam:PassRole"]
MANAGED = {"StringEquals": {"iam:ResourceTag/managed-by": "iam-key-lifecycle"}}
READ_VERBS = ("Get", "List", "Describe")
# X-Ray has no resource-level permissions; Tracing.ACTIVE grants these two on "*".
UNSCOPABLE_WRITES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "iam:GenerateCredentialReport"}


def allow(sid: str | None, actions: list[str], resources: list[str], condition: dict | None = None) -> dict[str, Any]:
    return normalize(
        {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, "Condition": condition or {}}
    )


def deny(sid: str, actions: list[str], resources: list[str], condition: dict | None = None) -> dict[str, Any]:
    return {**allow(sid, actions, resources, condition), "Effect": "Deny"}


def via(service: str) -> dict[str, Any]:
    return {"StringEquals": {"kms:ViaService": f"{service}.${{AWS::Region}}.amazonaws.com"}}


def common(s: Synth, function: str) -> list[dict[str, Any]]:
    construct = FUNCTIONS[function]
    return [
        allow("ReadAccountAuthorizationDetails", ["iam:GetAccountAuthorizationDetails"], ["*"]),
        allow("ReadCredentialReport", ["iam:GenerateCredentialReport", "iam:GetCredentialReport"], ["*"]),
        allow(
            "ReadManagedUsers",
            ["iam:GetUser", "iam:ListUserTags", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
            [USERS],
        ),
        allow("ListSecrets", ["secretsmanager:ListSecrets"], ["*"]),
        allow("DescribeManagedSecrets", ["secretsmanager:DescribeSecret"], [SECRETS]),
        allow("PublishNotifications", ["sns:Publish"], [s.ref("AWS::SNS::Topic", "NotificationsTopic")]),
        allow(
            "PublishLifecycleEvents",
            ["events:PutEvents"],
            ["arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"],
            {"StringEquals": {"events:source": "iam-key-lifecycle"}},
        ),
        allow(
            "EncryptNotificationsThroughSns",
            ["kms:GenerateDataKey", "kms:Decrypt"],
            [s.arn("AWS::KMS::Key", "NotificationsKey")],
            via("sns"),
        ),
        allow(
            "WriteOwnLogs",
            ["logs:CreateLogStream", "logs:PutLogEvents"],
            [s.arn("AWS::Logs::LogGroup", f"Functions{construct}Logs")],
        ),
    ]


def guards(s: Synth, *, creates_users: bool) -> list[dict[str, Any]]:
    tags_managed_by = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["managed-by"]}}
    tag_condition = (
        {**tags_managed_by, "StringNotEquals": {"aws:RequestTag/provisioning": "true"}}
        if creates_users
        else tags_managed_by
    )
    return [
        deny(
            "DenyPathMovesAndBoundaryRemoval",
            ["iam:UpdateUser", "iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"],
            ["*"],
        ),
        deny("DenyWritesOnSubPathUsers", IAM_WRITE_ACTIONS, [f"{USERS}/*"]),
        deny("DenyDirectUserPolicies", ["iam:AttachUserPolicy", "iam:PutUserPolicy"], ["*"]),
        deny("DenyTaggingManagedByOntoExistingUsers", ["iam:TagUser"], ["*"], tag_condition),
        deny(
            "DenyRetaggingManagedBy",
            ["iam:TagUser"],
            ["*"],
            {**tags_managed_by, "Null": {"iam:ResourceTag/managed-by": "false"}},
        ),
        deny("DenyUntaggingManagedBy", ["iam:UntagUser"], ["*"], tags_managed_by),
        deny(
            "DenyDeletingSecretsWithoutRecovery",
            ["secretsmanager:DeleteSecret"],
            ["*"],
            {"Bool": {"secretsmanager:ForceDeleteWithoutRecovery": "true"}},
        ),
        {
            **deny(
                "DenyEncryptingSecretsUnderOtherKeys",
                ["kms:Encrypt", "kms:GenerateDataKey*"],
                [],
                {"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
            ),
            "NotResource": [s.arn("AWS::KMS::Key", "SecretsEncryptionKey")],
        },
        deny(
            "DenyBoundaryPolicyChanges",
            ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            [s.ref("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")],
        ),
        deny(
            "DenyChangesToStackRoles",
            [
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePermissionsBoundary",
                "iam:DeleteRolePermissionsBoundary",
                "iam:UpdateRole",
                "iam:DeleteRole",
            ],
            [STACK_ROLES],
        ),
    ]


def cdk_added(s: Synth) -> list[dict[str, Any]]:
    """What CDK adds for Tracing.ACTIVE and the on-failure destination."""
    return [
        allow(None, ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], ["*"]),
        allow(
            None,
            ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            [s.arn("AWS::SQS::Queue", "FunctionsOnFailureQueue")],
        ),
    ]


def secrets_key(s: Synth) -> dict[str, Any]:
    return allow(
        "EncryptSecretsThroughSecretsManager",
        ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"],
        [s.arn("AWS::KMS::Key", "SecretsEncryptionKey")],
        via("secretsmanager"),
    )


def boundary(s: Synth) -> str:
    return s.ref("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")


def expected_create_keys(s: Synth) -> list[dict[str, Any]]:
    return [
        *common(s, "create_keys"),
        allow(
            "CreateUsersWithBoundaryAndTag",
            ["iam:CreateUser"],
            [USERS],
            {
                "StringEquals": {
                    "iam:PermissionsBoundary": boundary(s),
                    "aws:RequestTag/managed-by": "iam-key-lifecycle",
                },
                "ForAllValues:StringLike": {"aws:TagKeys": WRITABLE_TAG_KEYS},
            },
        ),
        allow(
            "TagNewUsersWithCreationTags",
            ["iam:TagUser"],
            [USERS],
            {
                "ForAllValues:StringLike": {"aws:TagKeys": WRITABLE_TAG_KEYS},
                "StringEquals": {
                    "aws:RequestTag/managed-by": "iam-key-lifecycle",
                    "aws:RequestTag/provisioning": "true",
                },
                "Null": {"iam:ResourceTag/managed-by": "true"},
            },
        ),
        allow(
            "RecordKeyLifecycleOnManagedUsers",
            ["iam:TagUser"],
            [USERS],
            {**MANAGED, "ForAllValues:StringLike": {"aws:TagKeys": LIFECYCLE_RECORDS}},
        ),
        allow(
            "UntagManagedUsers",
            ["iam:UntagUser"],
            [USERS],
            {**MANAGED, "ForAllValues:StringLike": {"aws:TagKeys": ["provisioning", *LIFECYCLE_RECORDS]}},
        ),
        allow(
            "ManageTemporaryUserGroupMembership",
            ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"],
            [s.arn("AWS::IAM::Group", "TemporaryUserGuardrailsGroup")],
        ),
        allow("ManageKeysOfManagedUsers", ["iam:CreateAccessKey", "iam:DeleteAccessKey"], [USERS], MANAGED),
        allow(
            "DeleteOnlyHalfMadeUsers",
            ["iam:DeleteUser"],
            [USERS],
            {
                "StringEquals": {
                    "iam:ResourceTag/provisioning": "true",
                    "iam:ResourceTag/managed-by": "iam-key-lifecycle",
                }
            },
        ),
        allow(
            "CreateManagedSecretsWithTheStackKey",
            ["secretsmanager:CreateSecret"],
            [SECRETS],
            {"StringEquals": {"secretsmanager:KmsKeyArn": s.arn("AWS::KMS::Key", "SecretsEncryptionKey")}},
        ),
        allow(
            "StoreKeysInManagedSecrets",
            [
                "secretsmanager:PutSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
                "secretsmanager:RestoreSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:TagResource",
            ],
            [SECRETS],
        ),
        allow("CheckAdoptedSecrets", ["secretsmanager:GetResourcePolicy"], [SECRETS]),
        secrets_key(s),
        allow(
            "ReadAccountPosture",
            ["iam:GetAccountSummary"],
            ["*"],
        ),
        *guards(s, creates_users=True),
        *cdk_added(s),
    ]


def expected_rotate_keys(s: Synth) -> list[dict[str, Any]]:
    return [
        *common(s, "rotate_keys"),
        allow(
            "RotateKeysOfManagedUsers",
            ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
            [USERS],
            MANAGED,
        ),
        allow(
            "RecordKeyLifecycleInTags",
            ["iam:TagUser", "iam:UntagUser"],
            [USERS],
            {
                **MANAGED,
                "ForAllValues:StringLike": {"aws:TagKeys": LIFECYCLE_RECORDS},
            },
        ),
        allow(
            "StoreKeysInManagedSecrets",
            [
                "secretsmanager:PutSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            [SECRETS],
        ),
        allow("CheckAdoptedSecrets", ["secretsmanager:GetResourcePolicy"], [SECRETS]),
        secrets_key(s),
        *guards(s, creates_users=False),
        *cdk_added(s),
    ]


def expected_cleanup_users(s: Synth) -> list[dict[str, Any]]:
    return [
        *common(s, "cleanup_users"),
        allow(
            "ReadCredentialsOfUsers",
            [
                "iam:GetLoginProfile",
                "iam:ListMFADevices",
                "iam:ListSigningCertificates",
                "iam:ListSSHPublicKeys",
                "iam:ListServiceSpecificCredentials",
                "iam:ListUserPolicies",
                "iam:ListAttachedUserPolicies",
                "iam:ListGroupsForUser",
            ],
            [USERS],
        ),
        allow(
            "DeleteCredentialsAndManagedUsers",
            [
                "iam:DeleteLoginProfile",
                "iam:UpdateAccessKey",
                "iam:DeleteAccessKey",
                "iam:DeactivateMFADevice",
                "iam:DeleteSigningCertificate",
                "iam:DeleteSSHPublicKey",
                "iam:DeleteServiceSpecificCredential",
                "iam:DeleteUserPolicy",
                "iam:DetachUserPolicy",
                "iam:DeleteUser",
            ],
            [USERS],
            MANAGED,
        ),
        allow(
            "RemoveUsersFromTheirGroups",
            ["iam:RemoveUserFromGroup"],
            [s.arn("AWS::IAM::Group", "TemporaryUserGuardrailsGroup")],
        ),
        allow(
            "DeleteVirtualMfaDevices",
            ["iam:DeleteVirtualMFADevice"],
            ["arn:${AWS::Partition}:iam::${AWS::AccountId}:mfa/*"],
        ),
        allow("DeleteManagedSecrets", ["secretsmanager:DeleteSecret"], [SECRETS]),
        allow(
            "RecordForewarningsInTags",
            ["iam:TagUser", "iam:UntagUser"],
            [USERS],
            {**MANAGED, "ForAllValues:StringLike": {"aws:TagKeys": ["warned:*"]}},
        ),
        allow(
            "RecordDeletionInTag",
            ["iam:TagUser"],
            [USERS],
            {**MANAGED, "ForAllValues:StringLike": {"aws:TagKeys": ["deleting"]}},
        ),
        *guards(s, creates_users=False),
        *cdk_added(s),
    ]


def expected_detect_changes(s: Synth) -> list[dict[str, Any]]:
    # The default out_of_band_key_response is "notify": no write on any user.
    return [
        *common(s, "detect_changes"),
        allow(
            "ReadUsersNamedByEvents",
            ["iam:GetUser", "iam:ListUserTags"],
            ["arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*"],
        ),
        *guards(s, creates_users=False),
        *cdk_added(s),
    ]


EXPECTED = {
    "create_keys": expected_create_keys,
    "rotate_keys": expected_rotate_keys,
    "cleanup_users": expected_cleanup_users,
    "detect_changes": expected_detect_changes,
}


def _key(statement: dict[str, Any]) -> str:
    return statement["Sid"] or ",".join(statement["Action"])


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_role_holds_exactly_its_statements(default_synth: Synth, function: str) -> None:
    # Given the synthesized stack
    # When reading every policy attached to the function's role
    actual = {_key(s): s for s in default_synth.function_statements(function)}
    # Then each statement is exactly the expected one: nothing missing, nothing extra, nothing widened
    expected = {_key(s): s for s in EXPECTED[function](default_synth)}
    if function != "detect_changes":  # the functions that apply plans take per-user locks
        lock = allow(
            "TakeAndReleaseUserLocks",
            ["dynamodb:PutItem"],
            [default_synth.arn("AWS::DynamoDB::Table", "UserLocksTable")],
        )
        expected[_key(lock)] = lock
        lock_key = allow(
            "UseTheLockTableKeyThroughDynamoDb",
            ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:GenerateDataKey"],
            [default_synth.arn("AWS::KMS::Key", "UserLocksKey")],
            {"StringEquals": {"kms:ViaService": "dynamodb.${AWS::Region}.amazonaws.com"}},
        )
        expected[_key(lock_key)] = lock_key
    assert sorted(actual) == sorted(expected)
    for key, statement in expected.items():
        assert actual[key] == statement, key


def test_create_user_requires_the_boundary_and_the_managed_by_tag(default_synth: Synth) -> None:
    # Given the create function's CreateUser permission
    statement = by_sid(default_synth.function_statements("create_keys"))["CreateUsersWithBoundaryAndTag"]
    # Then it names the stack's boundary and this deployment's tag value, and limits the tag keys
    boundary = default_synth.ref("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")
    assert statement["Resource"] == [USERS]
    assert statement["Condition"]["StringEquals"]["iam:PermissionsBoundary"] == boundary
    assert statement["Condition"]["StringEquals"]["aws:RequestTag/managed-by"] == "iam-key-lifecycle"
    assert statement["Condition"]["ForAllValues:StringLike"]["aws:TagKeys"] == WRITABLE_TAG_KEYS
    # And it is the only statement allowing iam:CreateUser in any function role
    granting = [
        (function, s["Sid"])
        for function in FUNCTIONS
        for s in default_synth.function_statements(function)
        if s["Effect"] == "Allow" and "iam:CreateUser" in s["Action"]
    ]
    assert granting == [("create_keys", "CreateUsersWithBoundaryAndTag")]


def test_create_function_can_delete_only_half_made_users(default_synth: Synth) -> None:
    # Given the create function's statements
    statements = default_synth.function_statements("create_keys")
    # Then DeleteUser is allowed once, and only on users still carrying provisioning=true
    deleting = [s for s in statements if s["Effect"] == "Allow" and "iam:DeleteUser" in s["Action"]]
    assert len(deleting) == 1
    assert deleting[0]["Condition"] == {
        "StringEquals": {"iam:ResourceTag/provisioning": "true", "iam:ResourceTag/managed-by": "iam-key-lifecycle"}
    }


def test_cleanup_cannot_create_and_rotate_cannot_create_or_delete_users(default_synth: Synth) -> None:
    # Given the allowed actions of the cleanup and rotate roles
    def allowed(function: str) -> set[str]:
        return {a for s in default_synth.function_statements(function) if s["Effect"] == "Allow" for a in s["Action"]}

    # Then cleanup creates nothing, and rotate neither creates nor deletes users
    assert not {a for a in allowed("cleanup_users") if a.startswith("iam:Create")}
    assert not allowed("rotate_keys") & {"iam:CreateUser", "iam:DeleteUser"}


def test_writes_on_existing_users_require_the_managed_by_tag(default_synth: Synth) -> None:
    # Given every allowed IAM write on users in the managed path, except CreateUser and its implied TagUser
    for function in FUNCTIONS:
        for s in default_synth.function_statements(function):
            writes = [a for a in s["Action"] if a.startswith("iam:") and not a.split(":")[1].startswith(READ_VERBS)]
            if s["Effect"] != "Allow" or s["Resource"] != [USERS] or not writes:
                continue
            if s["Sid"] == "CreateUsersWithBoundaryAndTag":
                continue
            if s["Sid"] == "TagNewUsersWithCreationTags":
                # CreateUser's implied TagUser: only on a user without any managed-by tag, and only the creation tags
                assert s["Condition"]["Null"] == {"iam:ResourceTag/managed-by": "true"}
                assert s["Condition"]["StringEquals"]["aws:RequestTag/provisioning"] == "true"
                continue
            # Then each requires iam:ResourceTag/managed-by = this deployment's value
            assert s["Condition"]["StringEquals"]["iam:ResourceTag/managed-by"] == "iam-key-lifecycle", (function, s)


def _iam_grants(s: Synth) -> list[tuple[str, dict[str, Any]]]:
    grants = []
    for logical_id, policy in s.of_type("AWS::IAM::Policy").items():
        grants += [(logical_id, normalize(st)) for st in policy["Properties"]["PolicyDocument"]["Statement"]]
    for logical_id, role in s.of_type("AWS::IAM::Role").items():
        for inline in role["Properties"].get("Policies", []):
            grants += [(logical_id, normalize(st)) for st in inline["PolicyDocument"]["Statement"]]
    return grants


@pytest.mark.parametrize("synth_name", ["default_synth", "variant_synth"])
def test_no_allowed_write_action_has_resource_star(request: pytest.FixtureRequest, synth_name: str) -> None:
    # Given every identity policy statement the stack grants (roles' policies; the boundary grants nothing)
    synth: Synth = request.getfixturevalue(synth_name)
    offending = [
        (logical_id, action)
        for logical_id, s in _iam_grants(synth)
        if s["Effect"] == "Allow" and "*" in s["Resource"]
        for action in s["Action"]
        if not action.split(":")[1].startswith(READ_VERBS) and action not in UNSCOPABLE_WRITES
    ]
    # Then no write action is allowed on "*"
    assert offending == []


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_function_role_carries_the_explicit_denies(default_synth: Synth, function: str) -> None:
    # Given a function role's deny statements
    denies = {s["Sid"]: s for s in default_synth.function_statements(function) if s["Effect"] == "Deny"}
    # Then all guards are there, exactly
    expected = guards(default_synth, creates_users=function == "create_keys")
    assert denies == {s["Sid"]: s for s in expected}


def test_only_the_create_deny_lets_managed_by_be_written_and_only_with_provisioning(default_synth: Synth) -> None:
    # Given the managed-by tagging deny of each role
    conditions = {
        function: by_sid(default_synth.function_statements(function))["DenyTaggingManagedByOntoExistingUsers"][
            "Condition"
        ]
        for function in FUNCTIONS
    }
    # Then rotate and cleanup may never write the tag; create only in a request that also marks provisioning=true
    assert conditions["rotate_keys"] == {"ForAnyValue:StringEquals": {"aws:TagKeys": ["managed-by"]}}
    assert conditions["cleanup_users"] == conditions["rotate_keys"]
    assert conditions["create_keys"]["StringNotEquals"] == {"aws:RequestTag/provisioning": "true"}


def test_function_roles_are_lambda_roles_under_the_stack_role_path(default_synth: Synth) -> None:
    for construct in FUNCTIONS.values():
        role = default_synth.properties("AWS::IAM::Role", f"Functions{construct}Role")
        assert role["Path"] == "/iam-key-lifecycle/"
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
        ]


def test_permissions_follow_the_configured_path_prefix_and_tag_value(variant_synth: Synth) -> None:
    # Given a context with another path, prefix and managed-by value
    statements = by_sid(variant_synth.function_statements("rotate_keys"))
    # Then the users, the secrets and the tag condition follow it
    assert statements["RotateKeysOfManagedUsers"]["Resource"] == [
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/contractors/*"
    ]
    assert statements["RotateKeysOfManagedUsers"]["Condition"] == {
        "StringEquals": {"iam:ResourceTag/managed-by": "platform-team"}
    }
    assert statements["StoreKeysInManagedSecrets"]["Resource"] == [
        "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:contractor-keys/*"
    ]


def test_cleanup_may_take_users_out_of_the_configured_group_path_too(variant_synth: Synth) -> None:
    # Given a removable_group_path: cleanup may also remove members from the groups under it, and no others
    statement = by_sid(variant_synth.function_statements("cleanup_users"))["RemoveUsersFromTheirGroups"]
    assert statement["Resource"] == sorted(
        [
            variant_synth.arn("AWS::IAM::Group", "TemporaryUserGuardrailsGroup"),
            "arn:${AWS::Partition}:iam::${AWS::AccountId}:group/contractor-groups/*",
        ]
    )


def test_secret_readers_must_be_of_the_account_deployed_to(variant_synth: Synth, default_synth: Synth) -> None:
    # The stack is environment-agnostic: the deploy fails unless the readers' account is the one deployed to
    rule = variant_synth.template["Rules"]["SecretReadersInThisAccount"]
    assertion = render(rule["Assertions"][0]["Assert"])
    assert assertion == {
        "Fn::And": [
            {"Fn::Equals": ["${AWS::AccountId}", "123456789012"]},
            {"Fn::Equals": ["${AWS::Partition}", "aws"]},
        ]
    }
    assert "SecretReadersInThisAccount" not in default_synth.template.get("Rules", {})
