"""EventBridge Scheduler schedules that drive the functions, in their own schedule group."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import Aws, CfnElement, Duration, RemovalPolicy, Stack, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks.config import ROLE_PATH
from stacks.nag import acknowledge

# Scheduler retries a failed invoke (throttling, a service error); the function's own failures are
# handled by Lambda's async retries and the on-failure queue.
RETRY_ATTEMPTS = 2
MAX_EVENT_AGE = Duration.hours(1)


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule: which function it invokes, with what input, when, and whether it is enabled."""

    construct_id: str
    function: str
    payload: Mapping[str, Any]
    expression: str
    enabled: bool
    description: str


class LifecycleSchedules(Construct):
    """One schedule per function, each with a retry policy, a dead-letter queue and a role that invokes only it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.IFunction],
        specs: tuple[ScheduleSpec, ...],
        time_zone: str,
        state_machines: Mapping[str, sfn.IStateMachine] | None = None,
    ) -> None:
        """`state_machines` (organization mode), by schedule: each schedule starts its state machine, which runs
        the function in every target account, instead of invoking the function."""
        super().__init__(scope, construct_id)
        # It holds only the stack's schedules, so it goes with the stack (retained, CloudFormation would also keep
        # it through a failed first create's rollback). No name: CloudFormation generates one per create (the
        # construct's own name is the same in every deployment), and the schedules refer to it by Ref.
        self.group = scheduler.ScheduleGroup(self, "Group", removal_policy=RemovalPolicy.DESTROY)
        group = cast(scheduler.CfnScheduleGroup, self.group.node.default_child)
        group.add_property_deletion_override("Name")
        self.schedules: dict[str, scheduler.Schedule] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        self.roles: dict[str, iam.Role] = {}
        for spec in specs:
            queue = sqs.Queue(
                self,
                f"{spec.construct_id}DeadLetterQueue",
                encryption=sqs.QueueEncryption.KMS_MANAGED,
                enforce_ssl=True,
                retention_period=Duration.days(14),
            )
            acknowledge(
                queue,
                "SQS3",
                "This queue is the schedule's dead-letter queue (Scheduler's DeadLetterConfig, not an SQS redrive "
                "policy, which the rule looks for); an alarm fires on its first message.",
            )
            # The role is per schedule: the target's default role is shared by every schedule of the stack.
            machine = (state_machines or {}).get(spec.construct_id)
            role = iam.Role(
                self,
                f"{spec.construct_id}Role",
                assumed_by=iam.ServicePrincipal(
                    "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
                ),
                path=ROLE_PATH,
                description=(
                    f"Lets the {spec.construct_id} schedule invoke the {spec.function} function only"
                    if machine is None
                    else f"Lets the {spec.construct_id} schedule start its organization state machine only"
                ),
            )
            target: scheduler.IScheduleTarget
            if machine is not None:
                # The target grants states:StartExecution on this one state machine.
                target = targets.StepFunctionsStartExecution(
                    machine,
                    input=scheduler.ScheduleTargetInput.from_object(dict(spec.payload)),
                    dead_letter_queue=queue,
                    retry_attempts=RETRY_ATTEMPTS,
                    max_event_age=MAX_EVENT_AGE,
                    role=role,
                )
                self._schedule(spec, target, time_zone, group, queue, role)
                continue
            target = targets.LambdaInvoke(
                functions[spec.function],
                input=scheduler.ScheduleTargetInput.from_object(dict(spec.payload)),
                dead_letter_queue=queue,
                retry_attempts=RETRY_ATTEMPTS,
                max_event_age=MAX_EVENT_AGE,
                role=role,
            )
            self._schedule(spec, target, time_zone, group, queue, role)
            # The target grants lambda:InvokeFunction on the function and on `<function arn>:*`.
            function_id = Stack.of(self).get_logical_id(cast(CfnElement, functions[spec.function].node.default_child))
            acknowledge(
                role.node.find_child("DefaultPolicy"),
                f"IAM5[Resource::<{function_id}.Arn>:*]",
                f"Only versions and aliases of the one function this schedule invokes ({spec.function}); "
                "the grant comes from the Scheduler Lambda target.",
            )

    def _schedule(
        self,
        spec: ScheduleSpec,
        target: scheduler.IScheduleTarget,
        time_zone: str,
        group: scheduler.CfnScheduleGroup,
        queue: sqs.Queue,
        role: iam.Role,
    ) -> None:
        schedule = scheduler.Schedule(
            self,
            f"{spec.construct_id}Schedule",
            schedule=scheduler.ScheduleExpression.expression(spec.expression, TimeZone.of(time_zone)),
            target=target,
            schedule_group=self.group,
            enabled=spec.enabled,
            description=spec.description,
        )
        cast(scheduler.CfnSchedule, schedule.node.default_child).add_property_override("GroupName", group.ref)
        self.schedules[spec.construct_id] = schedule
        self.dead_letter_queues[spec.construct_id] = queue
        self.roles[spec.construct_id] = role
