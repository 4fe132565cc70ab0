"""Security Hub findings (optional, `security_hub_findings`): the functions that keep the open conditions import
them as findings of the account into its default product, and archive them when they clear."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from constructs import Construct

from stacks.nag import acknowledge


class SecurityHubFindings(Construct):
    """One customer-managed policy, attached to the roles that record open conditions."""

    def __init__(self, scope: Construct, construct_id: str, *, roles: Iterable[iam.IRole]) -> None:
        super().__init__(scope, construct_id)
        self.policy = iam.ManagedPolicy(
            self,
            "ImportPolicy",
            description="Import the open conditions as Security Hub findings of this account only",
            statements=[
                iam.PolicyStatement(
                    sid="ImportFindingsOfThisAccount",
                    actions=["securityhub:BatchImportFindings"],
                    # BatchImportFindings has no resource type (Service Authorization Reference): "*", narrowed to
                    # findings of this account by securityhub:TargetAccount.
                    resources=["*"],
                    conditions={"StringEquals": {"securityhub:TargetAccount": Aws.ACCOUNT_ID}},
                )
            ],
            roles=list(roles),
        )
        acknowledge(
            self.policy,
            "IAM5[Resource::*]",
            "securityhub:BatchImportFindings supports no resource-level permission; the statement is limited to "
            "findings of this account by the securityhub:TargetAccount condition.",
        )
