"""cdk-nag (AwsSolutions) on the app, and acknowledgements scoped to one finding on one construct: cdk-nag's,
and checkov's (read by `make template-checks` from each resource's `Metadata.checkov.skip`)."""

from __future__ import annotations

from typing import cast

from aws_cdk import Acknowledgment, CfnResource, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def add_checks(scope: IConstruct) -> None:
    """Run the AwsSolutions rules at synth; any unacknowledged finding fails the synth."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope))


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding (`IAM5[Resource::...]`, `SQS3`) on one construct, with the reviewer's reason."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason))


def acknowledge_checkov(construct: IConstruct, check_id: str, reason: str) -> None:
    """Acknowledge one checkov check (`CKV_AWS_117`) on the construct's CloudFormation resource, with the reason."""
    resource = construct if isinstance(construct, CfnResource) else cast(CfnResource, construct.node.default_child)
    metadata = resource.get_metadata("checkov") or {"skip": []}
    if not any(entry["id"] == check_id for entry in metadata["skip"]):
        metadata["skip"].append({"id": check_id, "comment": reason})
    resource.add_metadata("checkov", metadata)
