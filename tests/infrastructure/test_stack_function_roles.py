"""Each function role's permissions: exactly the reviewed snapshot of its statements, and the properties that must
hold whatever the statements say (scoped writes, the explicit denies, no wildcard writes)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.iam_snapshot import SNAPSHOT, UPDATE_COMMAND, differences, policies, read_snapshot
from tests.support.stack_template import FUNCTIONS, USERS, Synth, by_sid, normalize, render

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
READ_VERBS = ("Get", "List", "Describe", "Lookup")
# X-Ray has no resource-level permissions; Tracing.ACTIVE grants these two on "*".
UNSCOPABLE_WRITES = {"xray:PutTraceSegments", "xray:PutTelemetryRecords", "iam:GenerateCredentialReport"}


def test_each_function_role_and_managed_policy_holds_exactly_the_reviewed_statements(default_synth: Synth) -> None:
    # Given the reviewed snapshot of every function role's statements and every managed policy's
    snapshot = read_snapshot()
    if snapshot is None:
        pytest.fail(f"{SNAPSHOT} is missing: run `{UPDATE_COMMAND}` and review it", pytrace=False)
    # When the synthesized template's policies are read the same way
    synthesized = policies(default_synth)
    # Then each is exactly its snapshot: nothing missing, nothing extra, nothing widened
    if synthesized != snapshot:
        pytest.fail(
            "the synthesized IAM policies differ from the reviewed snapshot:\n"
            f"{differences(snapshot, synthesized)}\n"
            f"If the change is intended, run `{UPDATE_COMMAND}` and commit the snapshot with it.",
            pytrace=False,
        )


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
