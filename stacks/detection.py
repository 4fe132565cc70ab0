"""Change detection: an EventBridge rule on CloudTrail's IAM management events → the detect_changes function,
the us-east-1 rule that forwards those events to the stack's region, and, on request, a CloudTrail trail for
accounts that have none (EventBridge only sees CloudTrail API calls while a trail logs them).

IAM is a global service: its CloudTrail events reach EventBridge in us-east-1 only. Deployed elsewhere, the stack's
rule receives them from `IamEventsForwarding` (its own stack in us-east-1), which sends the same matching events to
the default event bus of the stack's region; in us-east-1 the rule receives them directly.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from key_lifecycle.domain.classify import WATCHED_EVENTS, stack_role_names
from key_lifecycle.models.constants import CLOUDTRAIL_DETAIL_TYPE
from stacks.buckets import access_log_bucket, private_bucket
from stacks.nag import acknowledge, acknowledge_checkov

IAM_EVENTS_REGION = "us-east-1"


def iam_change_pattern(
    role_path: str, region: str = Aws.REGION, role_names: Sequence[str] | None = None
) -> dict[str, object]:
    """The rule's `detail`: the watched IAM calls, made by anyone but a session of one of the stack's function roles
    (their exact ARNs: a role someone else creates under `role_path` is watched). A call by an IAM user or the root
    user has no session issuer. `role_names`: the roles to leave out (default: the stack's in `region`)."""
    names = stack_role_names(region) if role_names is None else role_names
    stack_roles = [f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{role_path}{name}" for name in names]
    return {
        "eventSource": ["iam.amazonaws.com"],
        "eventName": list(WATCHED_EVENTS),
        "$or": [
            {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
            {"userIdentity": {"sessionContext": {"sessionIssuer": {"arn": [{"anything-but": stack_roles}]}}}},
        ],
    }


def iam_change_rule(
    scope: Construct,
    role_path: str,
    description: str,
    region: str = Aws.REGION,
    role_names: Sequence[str] | None = None,
) -> events.Rule:
    """A rule on the default bus of the scope's region matching the watched IAM calls made outside the stack."""
    return events.Rule(
        scope,
        "IamChangesRule",
        description=description,
        event_pattern=events.EventPattern(
            source=["aws.iam"],
            detail_type=[CLOUDTRAIL_DETAIL_TYPE],
            detail=iam_change_pattern(role_path, region, role_names),
        ),
    )


def dead_letter_queue(scope: Construct, construct_id: str, reason: str) -> sqs.Queue:
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge(queue, "SQS3", reason)
    acknowledge_checkov(
        queue,
        "CKV_AWS_27",
        "Encrypted with SQS-managed keys (SSE-SQS); EventBridge cannot deliver to a queue under the AWS managed "
        "key alias/aws/sqs, whose policy it cannot be granted.",
    )
    return queue


class ChangeDetection(Construct):
    """The rule on the default bus of the stack's region, its dead-letter queue, and the optional trail."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        function: lambda_.Function,
        role_path: str,
        create_trail: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(
            self,
            "RuleDeadLetterQueue",
            "This queue is the rule target's dead-letter queue (EventBridge DeadLetterConfig, not an SQS redrive "
            "policy); an alarm fires on its first message.",
        )
        self.rule = iam_change_rule(
            self,
            role_path,
            "IAM calls that create keys, users, policies or passwords, made outside the stack's roles",
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
        )

        self.trail: cloudtrail.Trail | None = None
        if create_trail:
            self.trail = self._trail()

    def _trail(self) -> cloudtrail.Trail:
        access_logs = access_log_bucket(self, "TrailAccessLogsBucket", logs_of="trail bucket")
        bucket = private_bucket(
            self, "TrailBucket", server_access_logs_bucket=access_logs, server_access_logs_prefix="trail-bucket/"
        )
        trail = cloudtrail.Trail(
            self,
            "Trail",
            bucket=bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.WRITE_ONLY,
        )
        acknowledge_checkov(
            trail,
            "CKV_AWS_35",
            "An optional trail for accounts without one, delivering to a private bucket encrypted with SSE-S3 and "
            "validated log files; accounts with an organization trail keep theirs (create_cloudtrail_trail false).",
        )
        return trail


class IamEventsForwarding(Construct):
    """In us-east-1: the same rule as the stack's, its target the default event bus of the stack's region (same
    account, so the bus needs no resource policy; EventBridge signs the PutEvents with the target's role)."""

    def __init__(self, scope: Construct, construct_id: str, *, role_path: str, target_region: str) -> None:
        super().__init__(scope, construct_id)
        self.target_bus = events.EventBus.from_event_bus_arn(
            self,
            "StackRegionDefaultBus",
            f"arn:{Aws.PARTITION}:events:{target_region}:{Aws.ACCOUNT_ID}:event-bus/default",
        )
        self.dead_letter_queue = dead_letter_queue(
            self,
            "ForwardDeadLetterQueue",
            "This queue is the forwarding target's dead-letter queue (EventBridge DeadLetterConfig, not an SQS "
            "redrive policy): events EventBridge could not put on the stack region's bus wait here for 14 days.",
        )
        self.role = iam.Role(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            # Under the stack's role path, with the functions' roles: their deny on changing the stack's own roles
            # covers this one too.
            path=role_path,
            description=f"Lets EventBridge put the forwarded IAM events on the default bus of {target_region}",
        )
        self.rule = iam_change_rule(
            self,
            role_path,
            f"Forwards IAM calls made outside the stack's roles to the stack in {target_region}",
            target_region,
        )
        self.rule.add_target(
            targets.EventBus(self.target_bus, dead_letter_queue=self.dead_letter_queue, role=self.role)
        )
