"""cdk-nag (AwsSolutions) on the app, and acknowledgements scoped to one finding on one construct."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

PACK = "AwsSolutions"


def add_checks(scope: IConstruct) -> None:
    """Run the AwsSolutions rules at synth; any unacknowledged finding fails the synth."""
    Validations.of(scope).add_plugins(AwsSolutionsChecks(scope))


def acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    """Acknowledge one finding (`IAM5[Resource::...]`, `SQS3`) on one construct, with the reviewer's reason."""
    Validations.of(construct).acknowledge(Acknowledgment(id=f"{PACK}::{PACK}-{finding}", reason=reason))
