"""The functions' IAM statements, written per function: what each may do, and what none may ever do.

Pure builders (no constructs), so the policy a reviewer reads is in one place, statement by statement.
Writes on existing users also require the user's `managed-by` tag to carry this deployment's value, so IAM
itself, not only the code, keeps the functions away from users they do not manage.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws
from aws_cdk import aws_iam as iam

from key_lifecycle.models.constants import (
    CURRENT_SINCE_TAG_PREFIX,
    DEACTIVATED_AT_TAG_PREFIX,
    DELETING_TAG,
    EVENT_SOURCE,
    EXPIRES_AT_TAG,
    MANAGED_BY_TAG,
    OWNER_TAG,
    PENDING_KEY_TAG,
    PROVISIONING_TAG,
    PURPOSE_TAG,
    WARNED_TAG_PREFIX,
)
from stacks.config import ROLE_PATH, LifecycleConfig
from stacks.guardrails import IAM_WRITE_ACTIONS

# The tag keys the functions may write. StringLike, so the per-key lifecycle records match.
WRITABLE_TAG_KEYS = (
    MANAGED_BY_TAG,
    OWNER_TAG,
    EXPIRES_AT_TAG,
    PURPOSE_TAG,
    PROVISIONING_TAG,
    f"{CURRENT_SINCE_TAG_PREFIX}*",
    f"{DEACTIVATED_AT_TAG_PREFIX}*",
    PENDING_KEY_TAG,
)
# The per-key records and the write-ahead intent of a new key (written before CreateAccessKey).
LIFECYCLE_RECORD_TAG_KEYS = (f"{CURRENT_SINCE_TAG_PREFIX}*", f"{DEACTIVATED_AT_TAG_PREFIX}*", PENDING_KEY_TAG)
# Records of the forewarnings sent (key_lifecycle/domain/forewarn.py), written by the daily cleanup run.
FOREWARNING_TAG_KEYS = (f"{WARNED_TAG_PREFIX}*",)

# Rendering of the ARN tokens in cdk-nag finding ids.
_NAG_PARTITION = "<AWS::Partition>"
_NAG_ACCOUNT = "<AWS::AccountId>"
_NAG_REGION = "<AWS::Region>"


@dataclass(frozen=True)
class PermissionScope:
    """What the functions' permissions are scoped to: one path, one prefix, one group, one boundary, two keys."""

    managed_user_path: str
    managed_by_tag_value: str
    secret_prefix: str
    boundary_arn: str
    group_arn: str
    secrets_key_arn: str
    topic_arn: str
    topic_key_arn: str
    # detect_changes may deactivate a key created by hand on a managed user (out_of_band_key_response).
    deactivate_out_of_band_keys: bool = False
    # Groups under this path (besides the stack's own) are ones cleanup may take a deleted user out of.
    removable_group_path: str | None = None

    @classmethod
    def of(
        cls,
        config: LifecycleConfig,
        *,
        boundary_arn: str,
        group_arn: str,
        secrets_key_arn: str,
        topic_arn: str,
        topic_key_arn: str,
    ) -> PermissionScope:
        """The scope the operator's configuration gives, around one account's resources (the hub's or a spoke's)."""
        return cls(
            managed_user_path=config.managed_user_path,
            managed_by_tag_value=config.managed_by_tag_value,
            secret_prefix=config.secret_prefix,
            boundary_arn=boundary_arn,
            group_arn=group_arn,
            secrets_key_arn=secrets_key_arn,
            topic_arn=topic_arn,
            topic_key_arn=topic_key_arn,
            deactivate_out_of_band_keys=config.out_of_band_key_response == "deactivate",
            removable_group_path=config.removable_group_path,
        )

    @property
    def users_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:user{self.managed_user_path}*"

    @property
    def sub_path_users_arn(self) -> str:
        """Users on a path below the managed one: `user/temporary/*` covers them, the stack never manages them."""
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:user{self.managed_user_path}*/*"

    @property
    def removable_group_arns(self) -> list[str]:
        groups = [self.group_arn]
        if self.removable_group_path:
            groups.append(f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:group{self.removable_group_path}*")
        return groups

    @property
    def secrets_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{self.secret_prefix}*"

    @property
    def default_event_bus_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default"

    @property
    def any_user_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:user/*"

    @property
    def any_mfa_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:mfa/*"

    @property
    def stack_roles_arn(self) -> str:
        return f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{ROLE_PATH}*"

    @property
    def managed_only(self) -> dict[str, dict[str, str]]:
        return {"StringEquals": {f"iam:ResourceTag/{MANAGED_BY_TAG}": self.managed_by_tag_value}}


def _via(service: str) -> dict[str, dict[str, str]]:
    return {"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}}


def _allow(sid: str, actions: list[str], resources: list[str], conditions: dict | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(sid=sid, actions=actions, resources=resources, conditions=conditions)


def _deny(sid: str, actions: list[str], resources: list[str], conditions: dict | None = None) -> iam.PolicyStatement:
    return iam.PolicyStatement(
        sid=sid, effect=iam.Effect.DENY, actions=actions, resources=resources, conditions=conditions
    )


# What a function does with its own (hub) credentials in organization mode: notify, write its logs. Everything else
# in common_statements acts on the managed account, so a member account's spoke role holds it.
HUB_ONLY_SIDS = frozenset({"PublishNotifications", "EncryptNotificationsThroughSns", "WriteOwnLogs"})


# What only a spoke role needs: the hub's functions know their own secrets key's ARN from their settings, but in a
# member account they know the spoke's key by its alias, and CreateSecret is allowed only with the key's ARN.
SPOKE_ONLY_SIDS = frozenset({"FindTheSecretsKey"})


def account_statements(scope: PermissionScope, log_group_arn: str) -> list[iam.PolicyStatement]:
    """common_statements without the hub-only ones: what a spoke role needs of them in its own account, and the
    lookup of the spoke's secrets key by its alias."""
    return [
        *(s for s in common_statements(scope, log_group_arn) if s.sid not in HUB_ONLY_SIDS),
        _allow("FindTheSecretsKey", ["kms:DescribeKey"], [scope.secrets_key_arn]),
    ]


def function_statements(
    scope: PermissionScope,
    log_group_arn: str,
    statements: list[iam.PolicyStatement],
    *,
    creates_users: bool,
    spoke: bool = False,
) -> list[iam.PolicyStatement]:
    """A function role's whole policy, in order: the common statements (a spoke role: those acting on its own
    account), the function's own, the guards. One source for the hub's roles and every spoke's."""
    common = account_statements if spoke else common_statements
    return [*common(scope, log_group_arn), *statements, *guard_statements(scope, creates_users=creates_users)]


def common_statements(scope: PermissionScope, log_group_arn: str) -> list[iam.PolicyStatement]:
    """What every function needs: read the account's users and secrets, notify, write their own logs."""
    return [
        # One paginated call returns every user with path, tags and groups; IAM cannot scope it.
        _allow("ReadAccountAuthorizationDetails", ["iam:GetAccountAuthorizationDetails"], ["*"]),
        # Every key's status, age and last use in one document (never acted on unconfirmed); no resource scoping.
        _allow("ReadCredentialReport", ["iam:GenerateCredentialReport", "iam:GetCredentialReport"], ["*"]),
        _allow(
            "ReadManagedUsers",
            ["iam:GetUser", "iam:ListUserTags", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"],
            [scope.users_arn],
        ),
        # ListSecrets has no resource-level permissions; it returns names and version stages, never values.
        _allow("ListSecrets", ["secretsmanager:ListSecrets"], ["*"]),
        _allow("DescribeManagedSecrets", ["secretsmanager:DescribeSecret"], [scope.secrets_arn]),
        _allow("PublishNotifications", ["sns:Publish"], [scope.topic_arn]),
        # events:source (Service Authorization Reference, PutEvents: "Filters access by the event source"): the
        # stack's own source only, so no function can pass its events off as another service's.
        _allow(
            "PublishLifecycleEvents",
            ["events:PutEvents"],
            [scope.default_event_bus_arn],
            {"StringEquals": {"events:source": EVENT_SOURCE}},
        ),
        _allow(
            "EncryptNotificationsThroughSns",
            ["kms:GenerateDataKey", "kms:Decrypt"],
            [scope.topic_key_arn],
            _via("sns"),
        ),
        _allow("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [log_group_arn]),
    ]


def _check_secrets(scope: PermissionScope) -> iam.PolicyStatement:
    # Before writing a new key into a secret: who else can read it (its resource policy).
    return _allow("CheckAdoptedSecrets", ["secretsmanager:GetResourcePolicy"], [scope.secrets_arn])


def _use_secrets_key(scope: PermissionScope) -> iam.PolicyStatement:
    return _allow(
        "EncryptSecretsThroughSecretsManager",
        ["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"],
        [scope.secrets_key_arn],
        _via("secretsmanager"),
    )


# The create function's tags on an existing (finished) user: the per-key records only. Owner, expiry, purpose and
# the provisioning mark are written by CreateUser itself and never rewritten.
CREATE_RETAG_KEYS = LIFECYCLE_RECORD_TAG_KEYS
# What the create function removes from a user: the provisioning mark once finished, and the per-key records.
CREATE_UNTAG_KEYS = (PROVISIONING_TAG, *LIFECYCLE_RECORD_TAG_KEYS)


def create_keys_statements(scope: PermissionScope) -> list[iam.PolicyStatement]:
    """Create users (with the boundary and the tag only), their keys and secrets; delete only half-made users."""
    return [
        _allow(
            "CreateUsersWithBoundaryAndTag",
            ["iam:CreateUser"],
            [scope.users_arn],
            {
                "StringEquals": {
                    "iam:PermissionsBoundary": scope.boundary_arn,
                    f"aws:RequestTag/{MANAGED_BY_TAG}": scope.managed_by_tag_value,
                },
                "ForAllValues:StringLike": {"aws:TagKeys": list(WRITABLE_TAG_KEYS)},
            },
        ),
        # CreateUser with tags is also authorized as iam:TagUser (the IAM User Guide's "Create new users only with
        # specific tags" allows both actions), before the new user has any tag. TagUser supports no
        # iam:PermissionsBoundary key (Service Authorization Reference: aws:RequestTag, aws:TagKeys and the user's
        # iam:ResourceTag only), so IAM cannot tell a new user from an existing one without tags: this allows the
        # creation tags (managed-by and provisioning=true required) on a user carrying no managed-by tag yet. An
        # untagged user made by hand in the path is the residue; the SCP in the README keeps such users out of the
        # path, and the functions never manage a user without the stack's boundary (lifecycle/rules.py).
        _allow(
            "TagNewUsersWithCreationTags",
            ["iam:TagUser"],
            [scope.users_arn],
            {
                "ForAllValues:StringLike": {"aws:TagKeys": list(WRITABLE_TAG_KEYS)},
                "StringEquals": {
                    f"aws:RequestTag/{MANAGED_BY_TAG}": scope.managed_by_tag_value,
                    f"aws:RequestTag/{PROVISIONING_TAG}": "true",
                },
                "Null": {f"iam:ResourceTag/{MANAGED_BY_TAG}": "true"},
            },
        ),
        _allow(
            "RecordKeyLifecycleOnManagedUsers",
            ["iam:TagUser"],
            [scope.users_arn],
            {**scope.managed_only, "ForAllValues:StringLike": {"aws:TagKeys": list(CREATE_RETAG_KEYS)}},
        ),
        _allow(
            "UntagManagedUsers",
            ["iam:UntagUser"],
            [scope.users_arn],
            {**scope.managed_only, "ForAllValues:StringLike": {"aws:TagKeys": list(CREATE_UNTAG_KEYS)}},
        ),
        # AddUserToGroup names no member in any condition key: IAM cannot limit it to managed users (README).
        _allow(
            "ManageTemporaryUserGroupMembership",
            ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"],
            [scope.group_arn],
        ),
        _allow(
            "ManageKeysOfManagedUsers",
            ["iam:CreateAccessKey", "iam:DeleteAccessKey"],
            [scope.users_arn],
            scope.managed_only,
        ),
        # Rollback of a half-made user only: a finished user no longer carries the provisioning tag, and the
        # create function cannot put it back (the creation tags need a user without managed-by).
        _allow(
            "DeleteOnlyHalfMadeUsers",
            ["iam:DeleteUser"],
            [scope.users_arn],
            {
                "StringEquals": {
                    f"iam:ResourceTag/{PROVISIONING_TAG}": "true",
                    f"iam:ResourceTag/{MANAGED_BY_TAG}": scope.managed_by_tag_value,
                }
            },
        ),
        # secretsmanager:KmsKeyArn (CreateSecret: "Filters access by the ARN of the KMS key in the request"): a
        # new secret is encrypted with the stack's key, never the account's AWS managed key or another one.
        _allow(
            "CreateManagedSecretsWithTheStackKey",
            ["secretsmanager:CreateSecret"],
            [scope.secrets_arn],
            {"StringEquals": {"secretsmanager:KmsKeyArn": scope.secrets_key_arn}},
        ),
        _allow(
            "StoreKeysInManagedSecrets",
            [
                "secretsmanager:PutSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
                "secretsmanager:RestoreSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:TagResource",
            ],
            [scope.secrets_arn],
        ),
        _check_secrets(scope),
        _use_secrets_key(scope),
        # {"action": "audit"}: the account summary (root keys present) has no resource-level permissions.
        _allow(
            "ReadAccountPosture",
            ["iam:GetAccountSummary"],
            ["*"],
        ),
    ]


def rotate_keys_statements(scope: PermissionScope) -> list[iam.PolicyStatement]:
    """Create, deactivate and delete keys of managed users; record lifecycle dates in tags; promote versions."""
    return [
        _allow(
            "RotateKeysOfManagedUsers",
            ["iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
            [scope.users_arn],
            scope.managed_only,
        ),
        _allow(
            "RecordKeyLifecycleInTags",
            ["iam:TagUser", "iam:UntagUser"],
            [scope.users_arn],
            {**scope.managed_only, "ForAllValues:StringLike": {"aws:TagKeys": list(LIFECYCLE_RECORD_TAG_KEYS)}},
        ),
        _allow(
            "StoreKeysInManagedSecrets",
            [
                "secretsmanager:PutSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            [scope.secrets_arn],
        ),
        _check_secrets(scope),
        _use_secrets_key(scope),
        # {"action": "advise"}: every user's active keys and their last use (managed or not: the advisor looks at
        # every key of the account), read only.
        _allow("AdviseReadEveryKey", ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"], [scope.any_user_arn]),
        # LookupEvents has no resource-level permissions; it returns the event history, never a secret.
        _allow("AdviseReadEventHistory", ["cloudtrail:LookupEvents"], ["*"]),
    ]


def cleanup_users_statements(scope: PermissionScope) -> list[iam.PolicyStatement]:
    """Remove everything IAM requires before DeleteUser, then the user and its secret."""
    return [
        _allow(
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
            [scope.users_arn],
        ),
        _allow(
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
            [scope.users_arn],
            scope.managed_only,
        ),
        # RemoveUserFromGroup has no condition key naming the member, so the groups themselves are the limit: the
        # stack's group and those under removable_group_path. A user in any other group is left whole (reported).
        _allow("RemoveUsersFromTheirGroups", ["iam:RemoveUserFromGroup"], scope.removable_group_arns),
        # Virtual MFA devices are named by whoever created them, not by the user path, and the action has no
        # condition key naming their user; IAM refuses to delete a device still assigned to a user, and only a
        # managed user's device can be deactivated here, so what remains is deleting unassigned devices.
        _allow("DeleteVirtualMfaDevices", ["iam:DeleteVirtualMFADevice"], [scope.any_mfa_arn]),
        _allow("DeleteManagedSecrets", ["secretsmanager:DeleteSecret"], [scope.secrets_arn]),
        _allow(
            "RecordForewarningsInTags",
            ["iam:TagUser", "iam:UntagUser"],
            [scope.users_arn],
            {**scope.managed_only, "ForAllValues:StringLike": {"aws:TagKeys": list(FOREWARNING_TAG_KEYS)}},
        ),
        # The write-ahead record of a deletion: a cut-short deletion is resumed, never undone by a new key.
        _allow(
            "RecordDeletionInTag",
            ["iam:TagUser"],
            [scope.users_arn],
            {**scope.managed_only, "ForAllValues:StringLike": {"aws:TagKeys": [DELETING_TAG]}},
        ),
    ]


def detect_changes_statements(scope: PermissionScope) -> list[iam.PolicyStatement]:
    """Read the user a CloudTrail event names (any user: it may be one the stack does not manage); deactivate a
    key created by hand on a managed user only when so configured."""
    statements = [
        _allow("ReadUsersNamedByEvents", ["iam:GetUser", "iam:ListUserTags"], [scope.any_user_arn]),
    ]
    if scope.deactivate_out_of_band_keys:
        statements.append(
            _allow(
                "DeactivateOutOfBandKeysOfManagedUsers",
                ["iam:UpdateAccessKey"],
                [scope.users_arn],
                scope.managed_only,
            )
        )
    return statements


def guard_statements(scope: PermissionScope, *, creates_users: bool) -> list[iam.PolicyStatement]:
    """Explicit denies on every function role: they hold whatever the allows above ever grow into."""
    tags_managed_by = {"ForAnyValue:StringEquals": {"aws:TagKeys": [MANAGED_BY_TAG]}}
    # CreateUser's own tags are authorized as TagUser too, and a new user has no tags to tell it from an
    # existing one; so for the create function the exception is a request that also marks the user as
    # half-made (provisioning=true), which is exactly what CreateUser sends.
    tag_condition = (
        {**tags_managed_by, "StringNotEquals": {f"aws:RequestTag/{PROVISIONING_TAG}": "true"}}
        if creates_users
        else tags_managed_by
    )
    return [
        _deny(
            "DenyPathMovesAndBoundaryRemoval",
            ["iam:UpdateUser", "iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary"],
            ["*"],
        ),
        # `user/temporary/*` also matches /temporary/admins/x; the stack never manages a user on a sub-path.
        _deny("DenyWritesOnSubPathUsers", list(IAM_WRITE_ACTIONS), [scope.sub_path_users_arn]),
        # Temporary users get policies only through the group (Security Hub IAM.2).
        _deny("DenyDirectUserPolicies", ["iam:AttachUserPolicy", "iam:PutUserPolicy"], ["*"]),
        _deny("DenyTaggingManagedByOntoExistingUsers", ["iam:TagUser"], ["*"], tag_condition),
        # A user that carries a managed-by tag (this deployment's or another's) is never re-marked.
        _deny(
            "DenyRetaggingManagedBy",
            ["iam:TagUser"],
            ["*"],
            {**tags_managed_by, "Null": {f"iam:ResourceTag/{MANAGED_BY_TAG}": "false"}},
        ),
        _deny("DenyUntaggingManagedBy", ["iam:UntagUser"], ["*"], tags_managed_by),
        # secretsmanager:ForceDeleteWithoutRecovery (DeleteSecret): every deletion keeps its recovery window.
        _deny(
            "DenyDeletingSecretsWithoutRecovery",
            ["secretsmanager:DeleteSecret"],
            ["*"],
            {"Bool": {"secretsmanager:ForceDeleteWithoutRecovery": "true"}},
        ),
        # A secret under another key (the account's AWS managed key, usable by every principal of the account
        # through Secrets Manager, or someone else's) never receives a key from the functions.
        iam.PolicyStatement(
            sid="DenyEncryptingSecretsUnderOtherKeys",
            effect=iam.Effect.DENY,
            actions=["kms:Encrypt", "kms:GenerateDataKey*"],
            not_resources=[scope.secrets_key_arn],
            conditions={"StringLike": {"kms:ViaService": "secretsmanager.*.amazonaws.com"}},
        ),
        _deny(
            "DenyBoundaryPolicyChanges",
            [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            [scope.boundary_arn],
        ),
        _deny(
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
            [scope.stack_roles_arn],
        ),
    ]


# cdk-nag finding ids for the scoped wildcards above, and why each is the narrowest possible.
def wildcard_acknowledgements(scope: PermissionScope, function: str) -> dict[str, str]:
    """The IAM5 findings a function role's policy raises, each with the reason it is as narrow as IAM allows."""
    users = f"arn:{_NAG_PARTITION}:iam::{_NAG_ACCOUNT}:user{scope.managed_user_path}*"
    secrets = f"arn:{_NAG_PARTITION}:secretsmanager:{_NAG_REGION}:{_NAG_ACCOUNT}:secret:{scope.secret_prefix}*"
    acks = {
        "IAM5[Resource::*]": (
            "Only actions without resource-level permissions use '*': iam:GetAccountAuthorizationDetails, "
            "secretsmanager:ListSecrets (names and stages, never values), the X-Ray trace upload and, for the "
            "audit, iam:GenerateCredentialReport, iam:GetCredentialReport and iam:GetAccountSummary; for the "
            "advisor, cloudtrail:LookupEvents (the event history; no secret); "
            "every write is scoped to the managed path or the secret prefix."
        ),
        f"IAM5[Resource::{users}]": (
            "Temporary users are created at run time, so their names are unknown at deploy time; the ARN is "
            "limited to the managed user path and writes further require the user's managed-by tag."
        ),
        f"IAM5[Resource::{secrets}]": (
            "One secret per temporary user, named at run time; the ARN is limited to the secret prefix (the "
            "trailing wildcard also covers the random suffix Secrets Manager appends)."
        ),
    }
    if function == "rotate_keys":
        acks[f"IAM5[Resource::arn:{_NAG_PARTITION}:iam::{_NAG_ACCOUNT}:user/*]"] = (
            "iam:ListAccessKeys and iam:GetAccessKeyLastUsed only (read), for the advisor: it advises on every "
            "active key of the account, managed or not, whatever the user's path."
        )
    if function == "detect_changes":
        acks[f"IAM5[Resource::arn:{_NAG_PARTITION}:iam::{_NAG_ACCOUNT}:user/*]"] = (
            "iam:GetUser and iam:ListUserTags only (read): a CloudTrail event may name any user, and whether the "
            "stack manages it is known only from its path and tags."
        )
    if function == "cleanup_users" and scope.removable_group_path:
        acks[f"IAM5[Resource::arn:{_NAG_PARTITION}:iam::{_NAG_ACCOUNT}:group{scope.removable_group_path}*]"] = (
            "iam:RemoveUserFromGroup only, on the groups under the operator's removable_group_path: IAM refuses "
            "to delete a user that is still a member of any group, and the action names no member to limit."
        )
    if function == "cleanup_users":
        acks[f"IAM5[Resource::arn:{_NAG_PARTITION}:iam::{_NAG_ACCOUNT}:mfa/*]"] = (
            "iam:DeleteVirtualMFADevice only: virtual MFA devices are named by whoever created them, not by the "
            "user path; IAM refuses to delete a device still assigned to a user, and only a managed user's device "
            "can be deactivated by this role."
        )
    return acks
