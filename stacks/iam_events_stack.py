"""The companion stack in us-east-1, deployed only when the main stack lives elsewhere: it forwards the IAM CloudTrail
events the change rule watches (which reach EventBridge in us-east-1 only) to the main stack's region."""

from __future__ import annotations

from typing import Any

from aws_cdk import Stack
from constructs import Construct

from stacks.config import ROLE_PATH
from stacks.detection import IamEventsForwarding


class IamEventsStack(Stack):
    """One rule, its role and dead-letter queue; nothing that holds state beyond the queue."""

    def __init__(self, scope: Construct, construct_id: str, *, target_region: str, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description=f"Forwards IAM's CloudTrail events from us-east-1 to IamKeyLifecycle in {target_region}",
            **kwargs,
        )
        IamEventsForwarding(self, "IamEventsForwarding", role_path=ROLE_PATH, target_region=target_region)
