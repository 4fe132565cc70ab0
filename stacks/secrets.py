"""The customer-managed KMS key of the temporary users' secrets (the secrets themselves are made at run time).

Its key policy is the gate that makes a secret readable only by the functions and the listed readers: the
account can administer the key but not use it, so an IAM policy alone never grants decryption.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# Everything but the cryptographic operations (and CreateGrant, which would hand them out); without this the
# key could never be managed or deleted. Changing the key policy stays possible, and visible in CloudTrail.
KEY_ADMIN_ACTIONS = [
    "kms:CreateAlias",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
]


def _through_secrets_manager() -> dict[str, dict[str, str]]:
    return {"StringEquals": {"kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"}}


class SecretsEncryption(Construct):
    """The secrets' KMS key: rotation on, usable only through Secrets Manager, by the functions and readers."""

    def __init__(self, scope: Construct, construct_id: str, *, secret_readers: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        policy = iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    sid="AccountAdministersTheKeyButCannotUseIt",
                    principals=[iam.AccountRootPrincipal()],
                    actions=KEY_ADMIN_ACTIONS,
                    resources=["*"],
                )
            ]
        )
        if secret_readers:
            # A reader also needs secretsmanager:GetSecretValue on the secret from its own IAM policy.
            policy.add_statements(
                iam.PolicyStatement(
                    sid="ReadersDecryptThroughSecretsManager",
                    principals=[iam.ArnPrincipal(arn) for arn in secret_readers],
                    actions=["kms:Decrypt", "kms:DescribeKey"],
                    resources=["*"],
                    conditions=_through_secrets_manager(),
                )
            )
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the secrets holding the temporary IAM users' access keys",
            enable_key_rotation=True,
            policy=policy,
            # Secrets encrypted with it outlive the stack (they are made at run time, not by the stack): keep the
            # key with them. A first create that fails has made no secret yet, so the key goes with the rollback.
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )

    def allow_functions(self, roles: Sequence[iam.IRole]) -> None:
        """Let the roles of the functions that store or read keys use the key, only through Secrets Manager.

        The principal is the account, narrowed to the roles by `aws:PrincipalArn`: KMS refuses a key policy that
        names a role as principal before IAM has propagated it (MalformedPolicyDocumentException), which a role
        created in the same deployment can hit. A condition on the ARN is not checked against IAM.
        """
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="FunctionsUseTheKeyThroughSecretsManager",
                principals=[iam.AccountRootPrincipal()],
                actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:Encrypt"],
                resources=["*"],
                conditions={
                    **_through_secrets_manager(),
                    "ArnEquals": {"aws:PrincipalArn": [role.role_arn for role in roles]},
                },
            )
        )
