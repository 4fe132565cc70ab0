"""Change detection: an EventBridge rule on CloudTrail's IAM management events → the detect_changes function,
and, on request, a CloudTrail trail for accounts that have none (EventBridge only sees CloudTrail API calls
while a trail logs them).

IAM is a global service: its CloudTrail events reach EventBridge in us-east-1 only. The rule is therefore
created under a condition on AWS::Region (the template stays environment-agnostic): deployed anywhere else, the
stack still audits, forewarns and publishes, but out-of-band changes are only seen by a us-east-1 deployment.
"""

from __future__ import annotations

from typing import cast

from aws_cdk import Aws, CfnCondition, CfnResource, Duration, Fn, RemovalPolicy
from aws_cdk import aws_cloudtrail as cloudtrail
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from lifecycle.classify import CLOUDTRAIL_DETAIL_TYPE, WATCHED_EVENTS
from stacks.nag import acknowledge

IAM_EVENTS_REGION = "us-east-1"


def iam_change_pattern(role_path: str) -> dict[str, object]:
    """The rule's `detail`: the watched IAM calls, made by anyone but a session of one of the stack's roles
    (all of them live under `role_path`). A call by an IAM user or the root user has no session issuer."""
    stack_roles = f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role{role_path}"
    return {
        "eventSource": ["iam.amazonaws.com"],
        "eventName": list(WATCHED_EVENTS),
        "$or": [
            {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
            {
                "userIdentity": {
                    "sessionContext": {"sessionIssuer": {"arn": [{"anything-but": {"prefix": stack_roles}}]}}
                }
            },
        ],
    }


class ChangeDetection(Construct):
    """The rule (in us-east-1 only), its dead-letter queue, and the optional trail with its log buckets."""

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
        self.in_iam_events_region = CfnCondition(
            self, "InIamEventsRegion", expression=Fn.condition_equals(Aws.REGION, IAM_EVENTS_REGION)
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "RuleDeadLetterQueue",
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.dead_letter_queue,
            "SQS3",
            "This queue is the rule target's dead-letter queue (EventBridge DeadLetterConfig, not an SQS redrive "
            "policy); an alarm fires on its first message.",
        )
        self.rule = events.Rule(
            self,
            "IamChangesRule",
            description="IAM calls that create keys, users, policies or passwords, made outside the stack's roles",
            event_pattern=events.EventPattern(
                source=["aws.iam"], detail_type=[CLOUDTRAIL_DETAIL_TYPE], detail=iam_change_pattern(role_path)
            ),
        )
        self.rule.add_target(
            targets.LambdaFunction(
                function,
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=2,
                max_event_age=Duration.hours(1),
            )
        )
        # Everything that names the rule exists only where the rule does.
        conditioned: list[CfnResource] = [cast(CfnResource, self.rule.node.default_child)]
        conditioned += [
            child
            for child in [*self.node.find_all(), *function.node.children]
            if isinstance(child, CfnResource)
            and child.cfn_resource_type in ("AWS::SQS::QueuePolicy", "AWS::Lambda::Permission")
            and child not in conditioned
        ]
        for resource in conditioned:
            resource.cfn_options.condition = self.in_iam_events_region

        self.trail: cloudtrail.Trail | None = None
        if create_trail:
            self.trail = self._trail()

    def _trail(self) -> cloudtrail.Trail:
        access_logs = s3.Bucket(
            self,
            "TrailAccessLogsBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # S3 server access logging delivers with the log-delivery ACL, which needs ObjectWriter ownership.
            object_ownership=s3.ObjectOwnership.OBJECT_WRITER,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            access_logs,
            "S1",
            "This bucket holds the server access logs of the trail bucket; logging it into itself would loop.",
        )
        bucket = s3.Bucket(
            self,
            "TrailBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            versioned=True,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="trail-bucket/",
            removal_policy=RemovalPolicy.RETAIN,
        )
        return cloudtrail.Trail(
            self,
            "Trail",
            bucket=bucket,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_file_validation=True,
            management_events=cloudtrail.ReadWriteType.WRITE_ONLY,
        )
