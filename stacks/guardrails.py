"""What temporary users can never exceed: their permissions boundary, and the one group that gives them policies."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.config import ROLE_PATH
from stacks.nag import acknowledge, acknowledge_checkov

# Every IAM write, by verb: a temporary user may read IAM (the article's IAMReadOnlyAccess) but never change it.
IAM_WRITE_ACTIONS = [
    "iam:Add*",
    "iam:Attach*",
    "iam:Change*",
    "iam:Create*",
    "iam:Deactivate*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Enable*",
    "iam:PassRole",
    "iam:Put*",
    "iam:Remove*",
    "iam:Reset*",
    "iam:Resync*",
    "iam:Set*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
    "iam:Upload*",
]

# What the AWS managed policies the boundary knows grant, as actions: with only these allowed, the boundary allows
# exactly them (and the caller's own identity) instead of everything the group might later be given.
# IAMReadOnlyAccess: Generate*/Get*/List*/Simulate* on IAM (its policy document, version 4 and later).
KNOWN_POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "IAMReadOnlyAccess": (
        "iam:GenerateCredentialReport",
        "iam:GenerateServiceLastAccessedDetails",
        "iam:Get*",
        "iam:List*",
        "iam:SimulateCustomPolicy",
        "iam:SimulatePrincipalPolicy",
    ),
}
# Whatever the group is given, a temporary user never reaches these: the CDK deploy roles (which trust the
# account), the stack's functions and template, key policies and grants, schedules.
DENIED_WHATEVER_THE_GROUP = [
    "sts:AssumeRole*",
    "lambda:*",
    "cloudformation:*",
    "kms:PutKeyPolicy",
    "kms:CreateGrant",
    "scheduler:*",
]


def boundary_allow(allowed_managed_policies: Sequence[str]) -> list[str]:
    """The boundary's allowed actions: an allow-list when every allowed policy is known, else everything."""
    if not allowed_managed_policies or any(name not in KNOWN_POLICY_ACTIONS for name in allowed_managed_policies):
        return ["*"]
    actions = {action for name in allowed_managed_policies for action in KNOWN_POLICY_ACTIONS[name]}
    return sorted(actions | {"sts:GetCallerIdentity"})


class TemporaryUserGuardrails(Construct):
    """The permissions boundary every temporary user is created with, and the group carrying the allowed policies."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        secret_prefix: str,
        secrets_key_arn: str,
        allowed_managed_policies: Sequence[str],
        boundary_name: str | None = None,
        group_name: str | None = None,
    ) -> None:
        """`boundary_name` and `group_name`: fixed names for the spoke, where the hub's functions must find them in
        a member account from its id alone; the hub stack leaves them to CloudFormation."""
        super().__init__(scope, construct_id)
        secrets_arn = f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{secret_prefix}*"
        stack_roles_arn = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{ROLE_PATH}*"
        self.boundary = iam.ManagedPolicy(
            self,
            "PermissionsBoundary",
            managed_policy_name=boundary_name,
            description="Permissions boundary of temporary IAM users: no IAM writes, no stored secrets",
            statements=[
                # A boundary grants nothing by itself: what a user can do is the intersection with the
                # group's policies. It caps, and the denies below hold whatever the group is given.
                iam.PolicyStatement(
                    sid="CapAtTheGroupPolicies", actions=boundary_allow(allowed_managed_policies), resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="DenyDeployRolesFunctionsKeysAndSchedules",
                    effect=iam.Effect.DENY,
                    actions=DENIED_WHATEVER_THE_GROUP,
                    resources=["*"],
                ),
                iam.PolicyStatement(
                    sid="DenyIamWrites", effect=iam.Effect.DENY, actions=IAM_WRITE_ACTIONS, resources=["*"]
                ),
                iam.PolicyStatement(
                    sid="DenyBoundaryRemoval",
                    effect=iam.Effect.DENY,
                    actions=["iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"],
                    resources=["*"],
                ),
                # Not even its own secret: the key's only legitimate consumers hold it outside AWS.
                iam.PolicyStatement(
                    sid="DenyStoredSecrets",
                    effect=iam.Effect.DENY,
                    actions=["secretsmanager:*"],
                    resources=[secrets_arn],
                ),
                iam.PolicyStatement(
                    sid="DenySecretsKey", effect=iam.Effect.DENY, actions=["kms:Decrypt"], resources=[secrets_key_arn]
                ),
                iam.PolicyStatement(
                    sid="DenyAssumingStackRoles",
                    effect=iam.Effect.DENY,
                    actions=["sts:AssumeRole"],
                    resources=[stack_roles_arn],
                ),
            ],
        )
        for action in boundary_allow(allowed_managed_policies):
            if "*" in action:
                acknowledge(
                    self.boundary,
                    f"IAM5[Action::{action}]",
                    "Permissions boundary, not a grant: temporary users' effective permissions are the intersection "
                    "with the group's managed policies; the boundary's explicit denies forbid IAM writes, the stored "
                    "secrets and their key, assuming roles, and the stack's functions, template, keys and schedules.",
                )
        acknowledge(
            self.boundary,
            "IAM5[Resource::*]",
            "Permissions boundary, not a grant: the allow caps at whatever the group's managed policies grant "
            "(their own resources), and the explicit denies apply account-wide.",
        )

        for check in ("CKV_AWS_107", "CKV_AWS_108", "CKV_AWS_109", "CKV_AWS_110", "CKV_AWS_111"):
            acknowledge_checkov(
                self.boundary,
                check,
                "Permissions boundary, not a grant: it is attached to no principal, only caps temporary users at the "
                "intersection with the group's policies, and its explicit denies forbid IAM writes, the stored "
                "secrets and their key.",
            )

        self.group = iam.Group(
            self,
            "Group",
            group_name=group_name,
            managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(n) for n in allowed_managed_policies],
        )
        for name in allowed_managed_policies:
            acknowledge(
                self.group,
                f"IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]",
                f"{name} is allowed by the operator (cdk.json allowed_managed_policies); AWS maintains it, and "
                "the permissions boundary caps it whatever it grows into.",
            )
