"""The per-user lock table: two runs never work on one user at once (a scheduled rotation and a manual one, a
rotation and a cleanup, two manual creates of one name). It also keeps, under their own key prefix, the open
conditions already notified (so a warning is told when it opens and when it clears, not on every run)."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from key_lifecycle.models.constants import (
    ADVISOR_STATE_KEY,
    CONDITIONS_KEY_PREFIX,
    LOCK_KEY_ATTRIBUTE,
    LOCK_TTL_ATTRIBUTE,
)


class UserLocks(Construct):
    """On-demand table under its own KMS key, point-in-time recovery, expired items removed by TTL."""

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Encrypts the IAM key lifecycle lock table",
            enable_key_rotation=True,
            # It encrypts only the table, which goes with the stack.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name=LOCK_KEY_ATTRIBUTE, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            # The items hold user names and times, never a secret; a key of the stack's own still keeps them to
            # the principals the stack names (security reviews and checkov ask for it).
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.key,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            time_to_live_attribute=LOCK_TTL_ATTRIBUTE,
            # Locks are worthless once the stack is gone and nothing else reads them: the table goes with the
            # stack. Deletion protection would contradict that (DELETE_FAILED on destroy, ROLLBACK_FAILED on a
            # failed first create), so it is off; point-in-time recovery covers mistakes while the stack lives.
            deletion_protection=False,
            removal_policy=RemovalPolicy.DESTROY,
        )

    def _conditions_policy(self) -> iam.ManagedPolicy:
        """One customer-managed policy for the three roles that record open conditions: its statement would push
        the create function's inline policy (near IAM's 10,240-character limit in organization mode) into an
        overflow policy of CDK's making."""
        existing = self.node.try_find_child("OpenConditionsPolicy")
        if isinstance(existing, iam.ManagedPolicy):
            return existing
        return iam.ManagedPolicy(
            self,
            "OpenConditionsPolicy",
            description="Read and record the notified open conditions in the lock table (their key space only)",
            statements=[
                iam.PolicyStatement(
                    sid="ReadAndRecordOpenConditions",
                    actions=["dynamodb:GetItem", "dynamodb:PutItem"],
                    resources=[self.table.table_arn],
                    conditions={
                        # (organization mode: `<account id>/open-conditions/...` for each member account)
                        "ForAllValues:StringLike": {
                            "dynamodb:LeadingKeys": [f"{CONDITIONS_KEY_PREFIX}*", f"*/{CONDITIONS_KEY_PREFIX}*"]
                        }
                    },
                )
            ],
        )

    def allow(self, role: iam.IRole, *, conditions: bool = False) -> None:
        """Take and release locks (conditional PutItem), on this table only; with `conditions`, also read and record
        the notified open conditions (GetItem and PutItem on their own key space only, by dynamodb:LeadingKeys)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="TakeAndReleaseUserLocks", actions=["dynamodb:PutItem"], resources=[self.table.table_arn]
            )
        )
        if conditions:
            self._conditions_policy().attach_to_role(role)
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="UseTheLockTableKeyThroughDynamoDb",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[self.key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"dynamodb.{Aws.REGION}.amazonaws.com"}},
            )
        )

    def allow_advisor_memory(self, role: iam.IRole) -> None:
        """Read back the advisor's memory: GetItem of its item only (organization mode: one per account)."""
        role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheAdvisorMemory",
                actions=["dynamodb:GetItem"],
                resources=[self.table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [ADVISOR_STATE_KEY, f"*/{ADVISOR_STATE_KEY}"]}
                },
            )
        )

    def allow_advisor_memory_read(self, role: iam.IRole) -> None:
        """Read the advisor's memory from a role whose inline policy is full (the create function's, near IAM's
        10,240-character limit in organization mode): the same GetItem of that one item, in a customer-managed
        policy (the inventory report and the audit show the last recommendations without reading CloudTrail)."""
        policy = iam.ManagedPolicy(
            self,
            "AdvisorMemoryReadPolicy",
            description="Read the prefer-roles advisor's last recommendations (its one lock-table item only)",
            statements=[
                iam.PolicyStatement(
                    sid="ReadTheAdvisorRecommendations",
                    actions=["dynamodb:GetItem"],
                    resources=[self.table.table_arn],
                    conditions={
                        "ForAllValues:StringLike": {
                            "dynamodb:LeadingKeys": [ADVISOR_STATE_KEY, f"*/{ADVISOR_STATE_KEY}"]
                        }
                    },
                )
            ],
        )
        policy.attach_to_role(role)
