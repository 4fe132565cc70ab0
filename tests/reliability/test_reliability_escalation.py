"""Escalation paths judged on the synthesized template: each function role's statements (and the temporary users'
permissions boundary) are evaluated for a request, so the tests are about outcomes, not statement text.

The evaluator is deliberately small: wildcard match on actions (case-insensitive) and resources, an explicit deny
wins, and a condition it cannot judge counts against the claim being tested (an Allow applies, a Deny does not)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.stack_template import FUNCTIONS, Synth, normalize

pytestmark = pytest.mark.xdist_group("synth")  # the worker that already holds the infrastructure synthesis

ACCOUNT = "arn:${AWS::Partition}:iam::${AWS::AccountId}"
SECRET = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
TAGGED = {"iam:ResourceTag/managed-by": "iam-key-lifecycle"}
ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"


@pytest.fixture
def synth(default_synth: Synth) -> Synth:
    """The session's synthesis of cdk.json's context (tests/conftest.py), shared with the infrastructure tests."""
    return default_synth


# The evaluator --------------------------------------------------------------------------------------------------


def _glob(pattern: str, value: str, *, case: bool) -> bool:
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _condition_met(condition: dict[str, Any], context: dict[str, Any], effect: str) -> bool:
    for operator, checks in condition.items():
        if operator == "Null":
            # Null: "true" means the key is absent from the request context, "false" that it is present.
            if any((context.get(key) is None) != (str(expected) == "true") for key, expected in checks.items()):
                return False
            continue
        if operator == "Bool":
            if any(str(context.get(key, "")).lower() != str(expected).lower() for key, expected in checks.items()):
                return False
            continue
        quantifier, _, base = operator.rpartition(":")
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        if base not in {"StringEquals", "StringNotEquals", "StringLike", "StringNotLike"}:
            return effect == "Allow"  # cannot judge: assume the Allow applies and the Deny does not
        negated, like = "Not" in base, base.endswith("Like")
        for key, expected in checks.items():
            wanted = expected if isinstance(expected, list) else [expected]
            given = context.get(key)
            if given is None:
                ok = quantifier == "ForAllValues" or if_exists or negated
            else:
                values = given if isinstance(given, list) else [given]

                def hit(value: str, wanted: list[str] = wanted, like: bool = like) -> bool:
                    return any(_glob(w, value, case=True) if like else w == value for w in wanted)

                if quantifier == "ForAllValues":
                    ok = all(hit(v) for v in values)
                elif quantifier == "ForAnyValue":
                    ok = any(hit(v) for v in values)
                else:
                    ok = any(hit(v) for v in values) != negated
            if not ok:
                return False
    return True


def decide(statements: list[dict[str, Any]], action: str, resource: str, context: dict[str, Any] | None = None) -> str:
    """ "allowed" or "denied" (explicitly or for want of an Allow)."""
    allowed = False
    for statement in statements:
        if not any(_glob(a, action, case=False) for a in statement["Action"]):
            continue
        if "NotResource" in statement:
            if any(_glob(r, resource, case=True) for r in statement["NotResource"]):
                continue
        elif not any(_glob(r, resource, case=True) for r in statement["Resource"]):
            continue
        if not _condition_met(statement["Condition"], context or {}, statement["Effect"]):
            continue
        if statement["Effect"] == "Deny":
            return "denied"
        allowed = True
    return "allowed" if allowed else "denied"


def test_the_evaluator_tells_allowed_from_denied() -> None:
    statements = [
        normalize({"Effect": "Allow", "Action": "iam:*AccessKey", "Resource": f"{ACCOUNT}:user/t/*"}),
        normalize(
            {
                "Effect": "Deny",
                "Action": "iam:DeleteAccessKey",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"iam:ResourceTag/managed-by": "x"}},
            }
        ),
    ]
    assert decide(statements, "iam:createaccesskey", f"{ACCOUNT}:user/t/a") == "allowed"
    assert decide(statements, "iam:CreateAccessKey", f"{ACCOUNT}:user/u/a") == "denied"
    assert decide(statements, "iam:DeleteAccessKey", f"{ACCOUNT}:user/t/a") == "denied"
    assert decide(statements, "iam:DeleteAccessKey", f"{ACCOUNT}:user/t/a", {"iam:ResourceTag/managed-by": "x"}) == (
        "allowed"
    )


# The requests ----------------------------------------------------------------------------------------------------


def user(path: str, name: str) -> str:
    return f"{ACCOUNT}:user{path}{name}"


MANAGED_USER = user("/temporary/", "alice")
# What CreateUser sends, and so what its implied TagUser carries.
CREATION_TAGS = {
    "aws:TagKeys": ["managed-by", "owner", "expires-at", "provisioning"],
    "aws:RequestTag/managed-by": "iam-key-lifecycle",
    "aws:RequestTag/provisioning": "true",
}
VIA_SECRETS = "secretsmanager.${AWS::Region}.amazonaws.com"
EVENT_BUS = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
OWN_ROLE = f"{ACCOUNT}:role/iam-key-lifecycle/IamKeyLifecycle-FunctionsRoleAbC123"
Request = tuple[str, str, dict[str, Any]]

# Path → requests every function role must be denied. "{boundary}" and "{group}" are filled from the template.
ESCALATIONS: dict[str, list[Request]] = {
    "a user outside the managed path (even one carrying the managed-by tag)": [
        (action, user("/people/", "bob"), {**TAGGED, "aws:TagKeys": ["current-since:AKIA"]})
        for action in (
            "iam:CreateAccessKey",
            "iam:UpdateAccessKey",
            "iam:DeleteAccessKey",
            "iam:DeleteUser",
            "iam:DeleteLoginProfile",
            "iam:TagUser",
            "iam:UntagUser",
            "iam:DeleteUserPolicy",
        )
    ],
    "the root user": [
        (action, f"{ACCOUNT}:root", {})
        for action in ("iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey", "iam:DeleteLoginProfile")
    ],
    "an administrator, outside the path or in it without the managed-by tag": [
        (action, target, {"iam:ResourceTag/provisioning": "true"})
        for target in (user("/", "admin"), user("/temporary/", "admin"))
        for action in (
            "iam:CreateAccessKey",
            "iam:UpdateAccessKey",
            "iam:DeleteAccessKey",
            "iam:DeleteUser",
            "iam:DeleteLoginProfile",
            "iam:DetachUserPolicy",
        )
    ],
    "attaching a policy that is not allowed": [
        ("iam:AttachUserPolicy", MANAGED_USER, {**TAGGED, "iam:PolicyARN": ADMIN_POLICY}),
        ("iam:PutUserPolicy", MANAGED_USER, TAGGED),
        ("iam:AttachGroupPolicy", "{group}", {"iam:PolicyARN": ADMIN_POLICY}),
        ("iam:PutGroupPolicy", "{group}", {}),
        ("iam:AddUserToGroup", f"{ACCOUNT}:group/admins", {}),
        ("iam:CreatePolicy", f"{ACCOUNT}:policy/escalate", {}),
        ("iam:CreatePolicyVersion", f"{ACCOUNT}:policy/any", {}),
    ],
    "changing its own role or the boundary policy": [
        *[
            (action, OWN_ROLE, {})
            for action in (
                "iam:PutRolePolicy",
                "iam:AttachRolePolicy",
                "iam:UpdateAssumeRolePolicy",
                "iam:DeleteRolePermissionsBoundary",
                "iam:PutRolePermissionsBoundary",
                "iam:UpdateRole",
                "iam:PassRole",
                "sts:AssumeRole",
            )
        ],
        *[
            (action, "{boundary}", {})
            for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy")
        ],
        ("iam:DeleteUserPermissionsBoundary", MANAGED_USER, TAGGED),
        ("iam:PutUserPermissionsBoundary", MANAGED_USER, {**TAGGED, "iam:PermissionsBoundary": "{boundary}"}),
        ("iam:CreateUser", user("/temporary/", "nobound"), {"aws:RequestTag/managed-by": "iam-key-lifecycle"}),
        (
            "iam:CreateUser",
            user("/temporary/", "otherbound"),
            {
                "aws:RequestTag/managed-by": "iam-key-lifecycle",
                "iam:PermissionsBoundary": f"{ACCOUNT}:policy/lenient",
                "aws:TagKeys": ["managed-by"],
            },
        ),
    ],
    "moving a user's path": [
        ("iam:UpdateUser", MANAGED_USER, {**TAGGED}),
        (
            "iam:CreateUser",
            user("/admins/", "alice"),
            {"aws:RequestTag/managed-by": "iam-key-lifecycle", "iam:PermissionsBoundary": "{boundary}"},
        ),
    ],
    # Finding: tagging a user made by hand, another deployment's or one on a sub-path as managed, then taking keys.
    "marking a user the stack does not manage as managed": [
        # another deployment's user (or one re-pointed by hand) already carries a managed-by tag
        ("iam:TagUser", user("/temporary/", "theirs"), {**CREATION_TAGS, "iam:ResourceTag/managed-by": "other"}),
        # a sub-path user: `user/temporary/*` covers /temporary/admins/root-like, the stack never manages it
        ("iam:TagUser", user("/temporary/admins/", "x"), CREATION_TAGS),
        ("iam:CreateAccessKey", user("/temporary/admins/", "x"), {**TAGGED}),
        ("iam:DeleteUser", user("/temporary/admins/", "x"), {**TAGGED, "iam:ResourceTag/provisioning": "true"}),
        ("iam:DeleteAccessKey", user("/temporary/admins/", "x"), {**TAGGED}),
        (
            "iam:CreateUser",
            user("/temporary/admins/", "x"),
            {**CREATION_TAGS, "iam:PermissionsBoundary": "{boundary}"},
        ),
    ],
    # Finding: a finished user re-marked half-made (then deleted), or its expiry and owner rewritten.
    "rewriting a finished user's creation tags": [
        (
            "iam:TagUser",
            MANAGED_USER,
            {**TAGGED, "aws:TagKeys": ["provisioning"], "aws:RequestTag/provisioning": "true"},
        ),
        ("iam:TagUser", MANAGED_USER, {**TAGGED, "aws:TagKeys": ["expires-at"], "aws:RequestTag/expires-at": "2099"}),
        ("iam:TagUser", MANAGED_USER, {**TAGGED, "aws:TagKeys": ["owner"], "aws:RequestTag/owner": "mallory@x"}),
        ("iam:UntagUser", MANAGED_USER, {**TAGGED, "aws:TagKeys": ["expires-at"]}),
    ],
    # Finding: RemoveUserFromGroup names no member, so any group's membership could be cut.
    "taking users out of groups that are not the stack's": [
        ("iam:RemoveUserFromGroup", f"{ACCOUNT}:group/admins", {}),
        ("iam:RemoveUserFromGroup", f"{ACCOUNT}:group/security/deny-without-mfa", {}),
    ],
    "storing a key where others can read it, or for good": [
        ("secretsmanager:CreateSecret", f"{SECRET}temporary-iam-users/alice", {}),
        (
            "secretsmanager:CreateSecret",
            f"{SECRET}temporary-iam-users/alice",
            {"secretsmanager:KmsKeyArn": "arn:aws:kms:eu-west-1:111122223333:key/theirs"},
        ),
        *[
            (action, "arn:aws:kms:eu-west-1:111122223333:key/theirs", {"kms:ViaService": VIA_SECRETS})
            for action in ("kms:Encrypt", "kms:GenerateDataKey")
        ],
        (
            "secretsmanager:DeleteSecret",
            f"{SECRET}temporary-iam-users/alice-AbCdEf",
            {"secretsmanager:ForceDeleteWithoutRecovery": "true"},
        ),
    ],
    "publishing events under another source": [
        ("events:PutEvents", EVENT_BUS, {"events:source": "aws.iam"}),
        ("events:PutEvents", EVENT_BUS, {}),
    ],
    "reading or changing a secret outside the prefix": [
        (f"secretsmanager:{action}", f"{SECRET}{name}", {})
        for name in ("prod/database-AbCdEf", "temporary-iam-users-lookalike-AbCdEf")
        for action in (
            "GetSecretValue",
            "PutSecretValue",
            "UpdateSecretVersionStage",
            "DeleteSecret",
            "RestoreSecret",
            "CreateSecret",
            "DescribeSecret",
        )
    ],
}


def fill(synth: Synth, text: Any) -> Any:
    if isinstance(text, dict):
        return {key: fill(synth, value) for key, value in text.items()}
    if not isinstance(text, str):
        return text
    boundary = synth.ref("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")
    group = synth.arn("AWS::IAM::Group", "TemporaryUserGuardrailsGroup")
    key = synth.arn("AWS::KMS::Key", "SecretsEncryptionKey")
    return text.replace("{boundary}", boundary).replace("{group}", group).replace("{key}", key)


@pytest.mark.parametrize("path", sorted(ESCALATIONS))
@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_function_role_is_denied_each_escalation_path(synth: Synth, function: str, path: str) -> None:
    # Given the role's statements as synthesized
    statements = synth.function_statements(function)
    # When each request of the escalation path is evaluated
    allowed = [
        (action, resource)
        for action, resource, context in ESCALATIONS[path]
        if decide(statements, action, fill(synth, resource), fill(synth, context)) == "allowed"
    ]
    # Then none is allowed
    assert allowed == []


# What each role needs stays allowed: the denials above are not the evaluator refusing everything.
NEEDED: dict[str, list[Request]] = {
    "create_keys": [
        (
            "iam:CreateUser",
            user("/temporary/", "alice"),
            {
                "aws:RequestTag/managed-by": "iam-key-lifecycle",
                "aws:RequestTag/provisioning": "true",
                "iam:PermissionsBoundary": "{boundary}",
                "aws:TagKeys": ["managed-by", "owner", "expires-at", "provisioning"],
            },
        ),
        ("iam:TagUser", MANAGED_USER, CREATION_TAGS),  # CreateUser's implied TagUser: the user has no tag yet
        ("iam:CreateAccessKey", MANAGED_USER, TAGGED),
        ("iam:TagUser", MANAGED_USER, {**TAGGED, "aws:TagKeys": ["pending-key"]}),
        ("iam:UntagUser", MANAGED_USER, {**TAGGED, "aws:TagKeys": ["provisioning"]}),
        ("iam:AddUserToGroup", "{group}", {}),
        ("iam:DeleteUser", MANAGED_USER, {**TAGGED, "iam:ResourceTag/provisioning": "true"}),
        ("secretsmanager:CreateSecret", f"{SECRET}temporary-iam-users/alice", {"secretsmanager:KmsKeyArn": "{key}"}),
        ("secretsmanager:GetResourcePolicy", f"{SECRET}temporary-iam-users/alice-AbCdEf", {}),
        ("secretsmanager:PutSecretValue", f"{SECRET}temporary-iam-users/alice-AbCdEf", {}),
        ("kms:GenerateDataKey", "{key}", {"kms:ViaService": VIA_SECRETS}),
        ("events:PutEvents", EVENT_BUS, {"events:source": "iam-key-lifecycle"}),
    ],
    "rotate_keys": [
        ("iam:CreateAccessKey", MANAGED_USER, TAGGED),
        ("iam:UpdateAccessKey", MANAGED_USER, TAGGED),
        ("iam:TagUser", MANAGED_USER, {**TAGGED, "aws:TagKeys": ["current-since:AKIAEXAMPLE"]}),
        ("secretsmanager:GetResourcePolicy", f"{SECRET}temporary-iam-users/alice-AbCdEf", {}),
        ("secretsmanager:UpdateSecretVersionStage", f"{SECRET}temporary-iam-users/alice-AbCdEf", {}),
    ],
    "cleanup_users": [
        ("iam:DeleteUser", MANAGED_USER, TAGGED),
        ("iam:DeleteLoginProfile", MANAGED_USER, TAGGED),
        ("iam:RemoveUserFromGroup", "{group}", {}),
        (
            "secretsmanager:DeleteSecret",
            f"{SECRET}temporary-iam-users/alice-AbCdEf",
            {"secretsmanager:ForceDeleteWithoutRecovery": "false", "secretsmanager:RecoveryWindowInDays": "7"},
        ),
    ],
    "detect_changes": [("iam:GetUser", user("/people/", "bob"), {})],
}


@pytest.mark.parametrize("function", sorted(NEEDED))
def test_what_each_role_needs_is_allowed(synth: Synth, function: str) -> None:
    statements = synth.function_statements(function)
    for action, resource, context in NEEDED[function]:
        assert decide(statements, action, fill(synth, resource), fill(synth, context)) == "allowed", action


def test_a_finished_user_cannot_be_deleted_by_the_create_role(synth: Synth) -> None:
    statements = synth.function_statements("create_keys")
    assert decide(statements, "iam:DeleteUser", MANAGED_USER, TAGGED) == "denied"


def test_rotate_and_cleanup_cannot_bring_a_user_into_scope_by_tagging_it(synth: Synth) -> None:
    for function in ("rotate_keys", "cleanup_users", "detect_changes"):
        statements = synth.function_statements(function)
        request = {"aws:TagKeys": ["managed-by"], "aws:RequestTag/managed-by": "iam-key-lifecycle"}
        assert decide(statements, "iam:TagUser", user("/temporary/", "admin"), request) == "denied", function


# The temporary users' boundary (re-created users) ------------------------------------------------------------------


def boundary_statements(synth: Synth) -> list[dict[str, Any]]:
    document = synth.properties("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")
    return [normalize(s) for s in document["PolicyDocument"]["Statement"]]


@pytest.mark.parametrize("name", ["phoenix-AbCdEf", "other-user-AbCdEf", "team/nested-AbCdEf"])
def test_no_temporary_user_can_read_any_stored_secret_whatever_its_group_grants(synth: Synth, name: str) -> None:
    # Given the boundary every temporary user is created with (its Allow caps at whatever the group grants)
    statements = boundary_statements(synth)
    secret = f"{SECRET}temporary-iam-users/{name}"
    # Then reading or listing the versions of any secret under the prefix is denied, its own or another user's
    for action in ("GetSecretValue", "DescribeSecret", "ListSecretVersionIds", "PutSecretValue", "RestoreSecret"):
        assert decide(statements, f"secretsmanager:{action}", secret) == "denied", action
    # And so is decrypting with the secrets' key
    key = synth.arn("AWS::KMS::Key", "SecretsEncryptionKey")
    assert decide(statements, "kms:Decrypt", key) == "denied"


def test_with_the_default_policy_the_boundary_allows_only_iam_reads(synth: Synth) -> None:
    # Given the boundary synthesized for the default allowed_managed_policies (IAMReadOnlyAccess)
    statements = boundary_statements(synth)
    # Then what IAMReadOnlyAccess grants stays within it, and the caller's own identity
    for action in ("iam:GetUser", "iam:ListUsers", "iam:GenerateCredentialReport", "sts:GetCallerIdentity"):
        assert decide(statements, action, "*") == "allowed", action
    # And nothing else does, whatever the group may later be given
    assert decide(statements, "secretsmanager:GetSecretValue", f"{SECRET}app/config-AbCdEf") == "denied"
    assert decide(statements, "s3:GetObject", "arn:aws:s3:::bucket/key") == "denied"


CDK_DEPLOY_ROLE = f"{ACCOUNT}:role/cdk-hnb659fds-deploy-role-${{AWS::AccountId}}-${{AWS::Region}}"
# Finding: with a broad group policy (AdministratorAccess, PowerUserAccess), a temporary user could reach these.
TAKEOVER_REQUESTS = [
    ("sts:AssumeRole", CDK_DEPLOY_ROLE),
    ("sts:AssumeRoleWithWebIdentity", CDK_DEPLOY_ROLE),
    ("lambda:UpdateFunctionCode", "arn:aws:lambda:eu-west-1:111122223333:function:IamKeyLifecycle-Create"),
    ("cloudformation:UpdateStack", "arn:aws:cloudformation:eu-west-1:111122223333:stack/IamKeyLifecycle/x"),
    ("kms:PutKeyPolicy", "arn:aws:kms:eu-west-1:111122223333:key/any"),
    ("kms:CreateGrant", "arn:aws:kms:eu-west-1:111122223333:key/any"),
    ("scheduler:UpdateSchedule", "arn:aws:scheduler:eu-west-1:111122223333:schedule/default/x"),
]


@pytest.mark.parametrize(("action", "resource"), TAKEOVER_REQUESTS)
def test_the_boundary_denies_takeover_paths_even_when_it_allows_everything(
    synth: Synth, action: str, resource: str
) -> None:
    # Given the boundary's explicit denies, and an allow widened to everything (a policy the boundary does not know)
    statements = [
        normalize({"Effect": "Allow", "Action": "*", "Resource": "*"}),
        *[s for s in boundary_statements(synth) if s["Effect"] == "Deny"],
    ]
    # Then the request is denied
    assert decide(statements, action, resource) == "denied"


def test_the_residue_iam_cannot_express_is_only_the_create_role_on_an_untagged_in_path_user(synth: Synth) -> None:
    # TagUser supports no iam:PermissionsBoundary key, so IAM cannot tell a user being created from an untagged
    # user made by hand in the exact managed path: the create role may give the latter the creation tags. The SCP
    # (README, "Permissions") keeps such users out of the path; the functions never manage a user without the
    # stack's boundary (lifecycle/rules.py).
    handmade = user("/temporary/", "handmade")
    for function in FUNCTIONS:
        expected = "allowed" if function == "create_keys" else "denied"
        assert decide(synth.function_statements(function), "iam:TagUser", handmade, CREATION_TAGS) == expected
