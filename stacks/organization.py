"""Organization mode (docs/organization.md): the spoke each member account receives from a StackSet, and the hub's
part of it in the main stack (the StackSets, the event bus policy, the functions' AssumeRole, one Step Functions
state machine per scheduled job).

StackSet mechanism: `CfnStackSet` with a TemplateBody synthesized here, in process, from two CDK stacks of their
own app (not the cdklabs `cdk-stacksets` library). The spoke holds IAM and KMS only, no asset: inlining the template
keeps the hub self-contained, needs no bootstrap bucket readable by the whole organization (which `cdk-stacksets`
requires, as it publishes the spoke as an asset), and the TemplateBody limit (51,200 bytes) is tested. The spoke
stacks use the BootstraplessSynthesizer, which refuses assets, so one can never creep in.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from aws_cdk import (
    App,
    Aws,
    BootstraplessSynthesizer,
    CfnElement,
    CfnParameter,
    Duration,
    Fn,
    RemovalPolicy,
    Stack,
)
from aws_cdk import aws_cloudformation as cfn
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as event_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from key_lifecycle.domain.classify import stack_role_name
from key_lifecycle.models.constants import (
    FUNCTIONS,
    SPOKE_BOUNDARY_POLICY_NAME,
    SPOKE_GROUP_NAME,
    SPOKE_SECRETS_KEY_ALIAS,
    STACK_NAME,
    spoke_role_name,
)
from stacks.buckets import access_log_bucket, private_bucket
from stacks.config import ROLE_PATH, LifecycleConfig, OrganizationConfig
from stacks.detection import IAM_EVENTS_REGION, dead_letter_queue, iam_change_rule
from stacks.functions import SPECS, retention
from stacks.guardrails import TemporaryUserGuardrails
from stacks.nag import acknowledge, add_checks
from stacks.permissions import PermissionScope, function_statements, wildcard_acknowledgements
from stacks.schedules import ScheduleSpec
from stacks.secrets import SecretsEncryption

SPOKE_STACK_NAME = f"{STACK_NAME}Spoke"
SPOKE_IAM_EVENTS_STACK_NAME = f"{STACK_NAME}SpokeIamEvents"
# CloudFormation's limit on a TemplateBody passed inline (CreateStackSet).
TEMPLATE_BODY_LIMIT = 51_200
# The stack parameter holding the organization's root id when `target_ous` is empty (every account).
ROOT_PARAMETER = "OrganizationRootId"
# The create function's actions the state machines call (the engine's contract).
LIST_ACCOUNTS_ACTION = "list_accounts"
AGGREGATE_ACTION = "aggregate_runs"
# The error an organization run's execution ends with when its map run failed (after the run report).
MAP_RUN_FAILED = "OrganizationRunFailed"
RESULTS_EXPIRY = Duration.days(30)
# Errors Lambda raises when it could not run the function (throttled, service side): retried with backoff and full
# jitter, so a thousand items throttled together do not come back together.
LAMBDA_RETRY_ERRORS = [
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
]


def _hub_parameters(stack: Stack) -> tuple[str, str]:
    account = CfnParameter(
        stack,
        "HubAccountId",
        description="The hub account (where the IamKeyLifecycle functions run)",
        allowed_pattern=r"^\d{12}$",
    )
    region = CfnParameter(
        stack,
        "HubRegion",
        description="The hub's region (where the IamKeyLifecycle stack and its event bus are)",
        allowed_pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
    )
    return account.value_as_string, region.value_as_string


class SpokeStack(Stack):
    """A member account's part: the users' boundary and group, the secrets' key, one role per function that only
    the matching hub function role (of this organization) may assume."""

    def __init__(self, scope: Construct, construct_id: str, *, config: LifecycleConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="IamKeyLifecycle spoke: the roles the hub's functions assume in this account",
            **kwargs,
        )
        organization_id = config.organization.organization_id
        assert organization_id is not None  # the config requires it when organization mode is on
        hub_account, hub_region = _hub_parameters(self)

        # Same construct ids as the hub's, so the spoke's statements name their resources exactly as the hub's do.
        secrets = SecretsEncryption(self, "SecretsEncryption", secret_readers=())
        kms.Alias(self, "SecretsKeyAlias", alias_name=SPOKE_SECRETS_KEY_ALIAS, target_key=secrets.key)
        guardrails = TemporaryUserGuardrails(
            self,
            "TemporaryUserGuardrails",
            secret_prefix=config.secret_prefix,
            secrets_key_arn=secrets.key.key_arn,
            allowed_managed_policies=config.allowed_managed_policies,
            boundary_name=SPOKE_BOUNDARY_POLICY_NAME,
            group_name=SPOKE_GROUP_NAME,
        )
        # Notifications and logs stay with the hub's own credentials (permissions.HUB_ONLY_SIDS): a spoke role has
        # no statement naming them.
        scope_ = PermissionScope.of(
            config,
            boundary_arn=guardrails.boundary.managed_policy_arn,
            group_arn=guardrails.group.group_arn,
            secrets_key_arn=secrets.key.key_arn,
            topic_arn="",
            topic_key_arn="",
        )
        self.roles: dict[str, iam.Role] = {}
        for spec in SPECS:
            hub_role_arn = (
                f"arn:{Aws.PARTITION}:iam::{hub_account}:role{ROLE_PATH}{stack_role_name(spec.name, hub_region)}"
            )
            # The hub account's root, narrowed by conditions: a trust naming the hub role itself fails with
            # MalformedPolicyDocument while that role does not exist (hub deployed after the spoke, or replaced);
            # conditions are not checked against IAM, so hub and spokes deploy in either order.
            principal = iam.ArnPrincipal(f"arn:{Aws.PARTITION}:iam::{hub_account}:root").with_conditions(
                {
                    "ArnEquals": {"aws:PrincipalArn": hub_role_arn},
                    "StringEquals": {"aws:PrincipalOrgID": organization_id},
                }
            )
            role = iam.Role(
                self,
                f"{spec.construct_id}Role",
                assumed_by=principal,
                path=ROLE_PATH,
                role_name=spoke_role_name(spec.name),
                description=f"Assumed by the hub's {spec.name} function to manage this account's temporary users",
            )
            for statement in function_statements(
                scope_, "", spec.statements(scope_), creates_users=spec.creates_users, spoke=True
            ):
                role.add_to_policy(statement)
            for finding, reason in wildcard_acknowledgements(scope_, spec.name).items():
                acknowledge(role.node.find_child("DefaultPolicy"), finding, reason)
            self.roles[spec.name] = role
        secrets.allow_functions([self.roles["create_keys"], self.roles["rotate_keys"]])


class SpokeIamEventsStack(Stack):
    """In us-east-1 of a member account (where IAM's CloudTrail events reach EventBridge): forwards the IAM calls
    made outside the spoke's roles to the hub's default event bus."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            description="IamKeyLifecycle spoke: forwards this account's IAM changes to the hub's event bus",
            **kwargs,
        )
        hub_account, hub_region = _hub_parameters(self)
        hub_bus = events.EventBus.from_event_bus_arn(
            self, "HubBus", f"arn:{Aws.PARTITION}:events:{hub_region}:{hub_account}:event-bus/default"
        )
        queue = dead_letter_queue(
            self,
            "ForwardDeadLetterQueue",
            "This queue is the forwarding target's dead-letter queue (EventBridge DeadLetterConfig, not an SQS "
            "redrive policy): events EventBridge could not put on the hub's bus wait here for 14 days.",
        )
        role = iam.Role(
            self,
            "ForwardRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            path=ROLE_PATH,
            description="Lets EventBridge put this account's IAM change events on the hub's event bus",
        )
        rule = iam_change_rule(
            self,
            ROLE_PATH,
            "Forwards IAM calls made outside the IamKeyLifecycle spoke roles to the hub's event bus",
            role_names=[spoke_role_name(function) for function in FUNCTIONS],
        )
        rule.add_target(event_targets.EventBus(hub_bus, dead_letter_queue=queue, role=role))


@dataclass(frozen=True)
class SpokeTemplates:
    """The spoke's two templates, synthesized (and checked by cdk-nag) in their own app."""

    spoke: dict[str, Any]
    iam_events: dict[str, Any]


def synthesize_spoke(config: LifecycleConfig, context: Mapping[str, Any]) -> SpokeTemplates:
    """Synthesize the spoke stacks in an app of their own (the CDK's feature flags as the hub's). Its own outdir:
    the CLI's (CDK_OUTDIR) belongs to the hub's app. A cdk-nag finding fails here, as in the hub's synth."""
    flags = {key: value for key, value in context.items() if key.startswith("@aws-cdk")}
    app = App(
        outdir=tempfile.mkdtemp(prefix="cdk-spoke-"),
        analytics_reporting=False,
        # Construct paths in every resource's metadata would only bloat the inline TemplateBody.
        context={**flags, "aws:cdk:enable-path-metadata": False},
    )
    SpokeStack(app, SPOKE_STACK_NAME, config=config, synthesizer=BootstraplessSynthesizer())
    SpokeIamEventsStack(app, SPOKE_IAM_EVENTS_STACK_NAME, synthesizer=BootstraplessSynthesizer())
    add_checks(app)
    assembly = app.synth()
    return SpokeTemplates(
        spoke=assembly.get_stack_by_name(SPOKE_STACK_NAME).template,
        iam_events=assembly.get_stack_by_name(SPOKE_IAM_EVENTS_STACK_NAME).template,
    )


def spoke_role_arn_pattern(function: str) -> str:
    """The spoke role of `function` in any account (the hub's AssumeRole resource)."""
    return f"arn:{Aws.PARTITION}:iam::*:role{ROLE_PATH}{spoke_role_name(function)}"


class OrganizationHub(Construct):
    """The hub's part of organization mode: the StackSets, the bus policy, the functions' AssumeRole grants, the
    run results bucket and one state machine per scheduled job."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        organization: OrganizationConfig,
        spoke: SpokeTemplates,
        functions: Mapping[str, lambda_.IFunction],
        roles: Mapping[str, iam.IRole],
        schedules: Sequence[ScheduleSpec],
        logs_key: kms.IKey,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        assert organization.organization_id is not None
        org_id = organization.organization_id
        stack = Stack.of(self)
        self.target_ous = list(organization.target_ous) or [self._root_id(stack)]

        parameters = [
            cfn.CfnStackSet.ParameterProperty(parameter_key="HubAccountId", parameter_value=Aws.ACCOUNT_ID),
            cfn.CfnStackSet.ParameterProperty(parameter_key="HubRegion", parameter_value=Aws.REGION),
        ]
        self.spoke_stack_set = self._stack_set(
            "SpokeStackSet", "Spoke", spoke.spoke, Aws.REGION, organization, parameters
        )
        self.iam_events_stack_set = self._stack_set(
            "SpokeIamEventsStackSet", "SpokeIamEvents", spoke.iam_events, IAM_EVENTS_REGION, organization, parameters
        )

        # The spokes' forwarded IAM events: PutEvents on the hub's default bus by principals of the organization.
        events.CfnEventBusPolicy(
            self,
            "OrganizationForwardsIamEvents",
            statement_id="OrganizationForwardsIamEvents",
            statement={
                "Sid": "OrganizationForwardsIamEvents",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "events:PutEvents",
                "Resource": f"arn:{Aws.PARTITION}:events:{Aws.REGION}:{Aws.ACCOUNT_ID}:event-bus/default",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
            },
        )

        for function, role in roles.items():
            pattern = spoke_role_arn_pattern(function)
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="AssumeTheSpokeRoleInMemberAccounts",
                    actions=["sts:AssumeRole"],
                    resources=[pattern],
                    conditions={"StringEquals": {"aws:ResourceOrgID": org_id}},
                )
            )
            acknowledge(
                role.node.find_child("DefaultPolicy"),
                f"IAM5[Resource::arn:<AWS::Partition>:iam::*:role{ROLE_PATH}{spoke_role_name(function)}]",
                "The spoke role of this one function, by its fixed name, in any account of the organization only "
                "(aws:ResourceOrgID): member accounts join and leave without a change to the hub.",
            )

        self.results_bucket = self._results_bucket()
        self._grant_engine(org_id, organization, functions, roles)
        self.log_group = logs.LogGroup(
            self,
            "StateMachineLogs",
            retention=retention(log_retention_days),
            encryption_key=logs_key,
            removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
        )
        self.state_machines: dict[str, sfn.StateMachine] = {
            spec.construct_id: self._state_machine(spec, organization, functions) for spec in schedules
        }

    def _grant_engine(
        self,
        org_id: str,
        organization: OrganizationConfig,
        functions: Mapping[str, lambda_.IFunction],
        roles: Mapping[str, iam.IRole],
    ) -> None:
        """What the functions need in the hub to act across the organization: its settings, the Organizations reads
        that list and check member accounts, and (the create function, which aggregates) the map's results."""
        environment = {
            "ORGANIZATION_ID": org_id,
            "ORGANIZATION_TARGET_OUS": Fn.join(",", self.target_ous),
            "ORGANIZATION_EXCLUDE_ACCOUNTS": ",".join(organization.exclude_accounts),
        }
        for function in functions.values():
            if isinstance(function, lambda_.Function):
                for name, value in environment.items():
                    function.add_environment(name, value)
        for role in roles.values():
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="ReadTheOrganization",
                    actions=[
                        "organizations:DescribeAccount",
                        "organizations:DescribeOrganization",
                        "organizations:ListAccountsForParent",
                        "organizations:ListOrganizationalUnitsForParent",
                        "organizations:ListParents",
                        "organizations:ListRoots",
                    ],
                    resources=["*"],
                )
            )
            acknowledge(
                role.node.find_child("DefaultPolicy"),
                "IAM5[Resource::*]",
                "Organizations' list and describe calls of the account walk and the account_id check: read-only, "
                "and their resources (the root, OUs, accounts) are the whole organization by design.",
            )
        create_role = roles["create_keys"]
        create_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="ReadTheRunResults",
                actions=["s3:GetObject", "s3:ListBucket"],
                resources=[self.results_bucket.bucket_arn, self.results_bucket.arn_for_objects("*")],
            )
        )
        bucket_id = Stack.of(self).get_logical_id(cast(CfnElement, self.results_bucket.node.default_child))
        acknowledge(
            create_role.node.find_child("DefaultPolicy"),
            f"IAM5[Resource::<{bucket_id}.Arn>/*]",
            "The Distributed Map writes one object per run under names it chooses; the create function reads them "
            "back to aggregate the run (read only, this one bucket).",
        )

    def _root_id(self, stack: Stack) -> str:
        # The root id exists only in the organization: the operator passes it at deploy (docs/organization.md).
        parameter = CfnParameter(
            stack,
            ROOT_PARAMETER,
            description="The organization's root id (aws organizations list-roots): the spoke goes to every account",
            allowed_pattern=r"^r-[0-9a-z]{4,32}$",
        )
        return parameter.value_as_string

    def _stack_set(
        self,
        construct_id: str,
        suffix: str,
        template: dict[str, Any],
        region: str,
        organization: OrganizationConfig,
        parameters: list[cfn.CfnStackSet.ParameterProperty],
    ) -> cfn.CfnStackSet:
        targets: dict[str, Any] = {"organizational_unit_ids": self.target_ous}
        if organization.exclude_accounts:
            targets |= {"accounts": list(organization.exclude_accounts), "account_filter_type": "DIFFERENCE"}
        return cfn.CfnStackSet(
            self,
            construct_id,
            stack_set_name=f"{Aws.STACK_NAME}-{suffix}",
            description=template.get("Description"),
            permission_model="SERVICE_MANAGED",
            # The hub runs in the StackSets delegated administrator account, not the management account.
            call_as="DELEGATED_ADMIN",
            auto_deployment=cfn.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            capabilities=["CAPABILITY_NAMED_IAM"],
            managed_execution={"Active": True},
            operation_preferences=cfn.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=int(organization.tolerated_failure_percentage),
                max_concurrent_percentage=100,
                region_concurrency_type="PARALLEL",
            ),
            parameters=parameters,
            stack_instances_group=[
                cfn.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cfn.CfnStackSet.DeploymentTargetsProperty(**targets), regions=[region]
                )
            ],
            template_body=json.dumps(template, separators=(",", ":")),
        )

    def _results_bucket(self) -> s3.Bucket:
        access_logs = access_log_bucket(
            self,
            "RunResultsAccessLogsBucket",
            logs_of="run results bucket",
            lifecycle_rules=[
                s3.LifecycleRule(expiration=Duration.days(90), noncurrent_version_expiration=Duration.days(1))
            ],
        )
        return private_bucket(
            self,
            "RunResultsBucket",
            # Per-account results are read once, by the aggregation step; the run report is the record.
            lifecycle_rules=[
                s3.LifecycleRule(expiration=RESULTS_EXPIRY, noncurrent_version_expiration=Duration.days(1))
            ],
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix="run-results/",
        )

    def _state_machine(
        self, spec: ScheduleSpec, organization: OrganizationConfig, functions: Mapping[str, lambda_.IFunction]
    ) -> sfn.StateMachine:
        scope = Construct(self, spec.construct_id)
        list_accounts = tasks.LambdaInvoke(
            scope,
            "ListTargetAccounts",
            lambda_function=functions["create_keys"],
            # The targets and exclusions are the function's settings (ORGANIZATION_* in its environment).
            payload=sfn.TaskInput.from_object({"action": LIST_ACCOUNTS_ACTION}),
            payload_response_only=True,
            result_selector={"account_ids.$": "$.accounts[*].account_id"},
        )
        run_in_account = tasks.LambdaInvoke(
            scope,
            "RunInAccount",
            lambda_function=functions[spec.function],
            payload_response_only=True,
            retry_on_service_exceptions=False,
        )
        run_in_account.add_retry(
            errors=LAMBDA_RETRY_ERRORS,
            interval=Duration.seconds(2),
            backoff_rate=2,
            max_attempts=6,
            max_delay=Duration.seconds(60),
            jitter_strategy=sfn.JitterType.FULL,
        )
        # The function failing in a member account (its own retries on throttling exhausted, a timeout): once
        # more, later, before the account is reported failed (AccountFailed).
        run_in_account.add_retry(
            errors=["States.TaskFailed", "States.Timeout"],
            interval=Duration.seconds(30),
            backoff_rate=2,
            max_attempts=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        # After its retries, an account's failure is that account's result, not a failed child execution: the map
        # goes on with the others and AggregateRuns names it. The tolerated failure percentage then counts only
        # what a child could not even record (States.Runtime, States.DataLimitExceeded: no Catch takes them).
        account_failed = sfn.Pass(
            scope,
            "AccountFailed",
            parameters={"account_id.$": "$.account_id", "failed.$": "$.failure"},
        )
        run_in_account.add_catch(account_failed, errors=[sfn.Errors.ALL], result_path="$.failure")
        each_account = sfn.DistributedMap(
            scope,
            "EachAccount",
            items_path="$.account_ids",
            item_selector={**dict(spec.payload), "account_id.$": "$$.Map.Item.Value"},
            max_concurrency=organization.max_concurrency,
            tolerated_failure_percentage=organization.tolerated_failure_percentage,
            result_writer_v2=sfn.ResultWriterV2(bucket=self.results_bucket, prefix=spec.construct_id.lower()),
        )
        each_account.item_processor(sfn.Chain.start(run_in_account))
        aggregate = tasks.LambdaInvoke(
            scope,
            "AggregateRuns",
            lambda_function=functions["create_keys"],
            payload=sfn.TaskInput.from_object(
                {
                    "action": AGGREGATE_ACTION,
                    "job": spec.construct_id.lower(),
                    "result_writer.$": "$.ResultWriterDetails",
                }
            ),
            payload_response_only=True,
        )
        # The map run itself failing (its tolerated failures exceeded, States.Runtime): still one run report and
        # one notification, from what the run wrote under this execution's start, then the execution fails so that
        # alarms on failed executions fire.
        aggregate_failed = tasks.LambdaInvoke(
            scope,
            "AggregateFailedRun",
            lambda_function=functions["create_keys"],
            payload=sfn.TaskInput.from_object(
                {
                    "action": AGGREGATE_ACTION,
                    "job": spec.construct_id.lower(),
                    "result_writer": {
                        "bucket": self.results_bucket.bucket_name,
                        "prefix": spec.construct_id.lower(),  # the ResultWriter's own
                        "written_after.$": "$$.Execution.StartTime",
                    },
                    "map_failed.$": "$.map_failed",
                }
            ),
            payload_response_only=True,
        )
        run_failed = sfn.Fail(
            scope,
            "RunFailed",
            error=MAP_RUN_FAILED,
            cause="The map over the accounts failed; the run report names why and the accounts it reached",
        )
        each_account.add_catch(aggregate_failed.next(run_failed), errors=[sfn.Errors.ALL], result_path="$.map_failed")
        machine = sfn.StateMachine(
            self,
            f"{spec.construct_id}StateMachine",
            comment=f"{spec.description}, in every target account of the organization",
            definition_body=sfn.DefinitionBody.from_chainable(list_accounts.next(each_account).next(aggregate)),
            tracing_enabled=True,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        self._acknowledge(machine, spec, functions)
        return machine

    def _acknowledge(
        self, machine: sfn.StateMachine, spec: ScheduleSpec, functions: Mapping[str, lambda_.IFunction]
    ) -> None:
        stack = Stack.of(self)
        policy = machine.role.node.find_child("DefaultPolicy")
        acknowledge(
            policy,
            "IAM5[Resource::*]",
            "X-Ray trace upload and CloudWatch Logs' log delivery API (logs:CreateLogDelivery and the others the "
            "state machine's logging needs) have no resource-level permissions.",
        )
        for name in sorted({"create_keys", spec.function}):
            function_id = stack.get_logical_id(cast(CfnElement, functions[name].node.default_child))
            acknowledge(
                policy,
                f"IAM5[Resource::<{function_id}.Arn>:*]",
                f"Only versions and aliases of the {name} function the state machine invokes (the grant comes from "
                "the Step Functions Lambda task).",
            )
        bucket_id = stack.get_logical_id(cast(CfnElement, self.results_bucket.node.default_child))
        acknowledge(
            policy,
            f"IAM5[Resource::arn:<AWS::Partition>:s3:::<{bucket_id}>/*]",
            "The Distributed Map's ResultWriter writes its per-account results (objects named at run time) into "
            "this one bucket only.",
        )
        machine_id = stack.get_logical_id(cast(CfnElement, machine.node.default_child))
        execution = (
            "arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:"
            f'{{"Fn::Select":[6,{{"Fn::Split":[":",{{"Ref":"{machine_id}"}}]}}]}}'
        )
        for suffix in (":*", "/*:*"):
            acknowledge(
                machine.node.find_child("DistributedMapPolicy"),
                f"IAM5[Resource::{execution}{suffix}]",
                "A Distributed Map starts, describes and stops its own child executions, named at run time, of this "
                "one state machine only (the grant comes from the DistributedMap construct).",
            )
