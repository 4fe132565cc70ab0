"""The four Lambda functions from the one `lambdas/` asset (the `key_lifecycle` package), each under its own
least-privilege role."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import cast

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from key_lifecycle.domain.classify import stack_role_name
from key_lifecycle.models.constants import METRICS_NAMESPACE
from stacks import powertools
from stacks.config import LAMBDAS_DIR, ROLE_PATH, settings_environment
from stacks.nag import acknowledge, acknowledge_checkov
from stacks.permissions import (
    PermissionScope,
    cleanup_users_statements,
    create_keys_statements,
    detect_changes_statements,
    function_statements,
    rotate_keys_statements,
    wildcard_acknowledgements,
)

# The layer's parameter is named for these (stacks/powertools.py PYTHON and ARCHITECTURE; a test holds them equal).
RUNTIME = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE = lambda_.Architecture.ARM_64
ASSET_EXCLUDES = ["**/__pycache__", "**/*.pyc", "**/.pytest_cache", "**/.mypy_cache", "**/.ruff_cache", "**/.DS_Store"]

_RETENTION = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    120: "FOUR_MONTHS",
    150: "FIVE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    400: "THIRTEEN_MONTHS",
    545: "EIGHTEEN_MONTHS",
    731: "TWO_YEARS",
    1096: "THREE_YEARS",
    1827: "FIVE_YEARS",
    2192: "SIX_YEARS",
    2557: "SEVEN_YEARS",
    2922: "EIGHT_YEARS",
    3288: "NINE_YEARS",
    3653: "TEN_YEARS",
}


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its handler module (also its Powertools service name), timeout and permissions."""

    name: str
    construct_id: str
    description: str
    timeout: Duration
    statements: Callable[[PermissionScope], list[iam.PolicyStatement]]
    creates_users: bool = False


SPECS = (
    FunctionSpec(
        "create_keys",
        "CreateKeys",
        "Creates temporary IAM users and their keys (manual), and reconciles their keys (schedule)",
        Duration.seconds(60),
        create_keys_statements,
        creates_users=True,
    ),
    FunctionSpec(
        "rotate_keys",
        "RotateKeys",
        "Rotates, deactivates and deletes the access keys of temporary IAM users",
        Duration.seconds(300),
        rotate_keys_statements,
    ),
    FunctionSpec(
        "cleanup_users",
        "CleanupUsers",
        "Deletes expired and stale temporary IAM users with every credential they hold",
        Duration.seconds(300),
        cleanup_users_statements,
    ),
    FunctionSpec(
        "detect_changes",
        "DetectChanges",
        "Reports IAM changes made outside the stack (CloudTrail via EventBridge): keys created by hand, and more",
        Duration.seconds(60),
        detect_changes_statements,
    ),
)


# The managed AwsSecretKey identifier finds a secret access key only within 30 characters of a keyword
# (aws_secret_access_key, credentials, secret access key, secret key, set-awscredential). This one also masks the
# field as SDKs and the functions' records name it, whatever the casing and separators: "SecretAccessKey": "…",
# secret_access_key=…, SECRET-ACCESS-KEY: ….
SECRET_KEY_FIELD_IDENTIFIER = "SecretAccessKeyField"
SECRET_KEY_FIELD_PATTERN = r"(?i)secret[_-]?access[_-]?key[\"']?\s*[:=]\s*[\"']?[A-Za-z0-9/+]{40}"

CHECKOV_FUNCTION_ACKNOWLEDGEMENTS = {
    "CKV_AWS_116": (
        "Asynchronous invocations go to an on-failure destination (an SQS queue with an alarm), which receives "
        "the failed event with its error and supersedes a dead-letter queue."
    ),
    "CKV_AWS_117": (
        "The function calls only public AWS APIs (IAM, STS, Secrets Manager, SNS, EventBridge, DynamoDB) and reaches "
        "no resource in a VPC; a VPC would add NAT or endpoints and cost without isolating anything."
    ),
    "CKV_AWS_115": (
        "Reserved concurrency is off by default (accounts at the lowest concurrency quota cannot reserve any) and "
        "available through reserved_concurrency; the per-user locks keep runs from overlapping."
    ),
    "CKV_AWS_173": (
        "The environment holds settings and resource names, never a secret; Lambda encrypts it at rest with an AWS "
        "managed key."
    ),
}


def _logs_key(scope: Construct) -> kms.Key:
    """The functions' log groups' key: CloudWatch Logs may use it for this account's log groups only."""
    stack = Stack.of(scope)
    key = kms.Key(
        scope,
        "LogsKey",
        description="Encrypts the IAM key lifecycle functions' log groups",
        enable_key_rotation=True,
        # Kept as long as the log groups it encrypts (kept on delete, removed when the first create fails).
        removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="CloudWatchLogsEncryptsThisAccountsLogGroups",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )
    return key


def retention(days: int) -> logs.RetentionDays:
    return cast(logs.RetentionDays, getattr(logs.RetentionDays, _RETENTION[days]))


class LifecycleFunctions(Construct):
    """create_keys, rotate_keys and cleanup_users, their roles, log groups and the on-failure queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        permissions: PermissionScope,
        settings: Mapping[str, str],
        log_retention_days: int,
        reserved_concurrency: int | None,
        powertools_version: str,
    ) -> None:
        super().__init__(scope, construct_id)
        environment = settings_environment(settings)
        code = lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=ASSET_EXCLUDES)
        layer = powertools.powertools_layer(self, powertools_version, architecture=ARCHITECTURE, runtime=RUNTIME)
        self.on_failure_queue = sqs.Queue(
            self,
            "OnFailureQueue",
            encryption=sqs.QueueEncryption.KMS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
        )
        acknowledge(
            self.on_failure_queue,
            "SQS3",
            "This queue is itself the functions' on-failure destination (a dead-letter queue in all but name); "
            "an alarm fires on its first message.",
        )

        self.logs_key = _logs_key(self)
        self.functions: dict[str, lambda_.Function] = {}
        self.roles: dict[str, iam.Role] = {}
        self.log_groups: dict[str, logs.LogGroup] = {}
        for spec in SPECS:
            log_group = logs.LogGroup(
                self,
                f"{spec.construct_id}Logs",
                retention=retention(log_retention_days),
                encryption_key=self.logs_key,
                # Logs are the record of what the functions did: kept when the stack is deleted, but removed
                # when the first create fails (nothing ran yet), so a retry starts clean.
                removal_policy=RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
                data_protection_policy=logs.DataProtectionPolicy(
                    name="mask-aws-secret-keys",
                    description="Masks AWS secret access keys should one ever reach a log line",
                    identifiers=[
                        logs.DataIdentifier.AWSSECRETKEY,
                        logs.CustomDataIdentifier(SECRET_KEY_FIELD_IDENTIFIER, SECRET_KEY_FIELD_PATTERN),
                    ],
                ),
            )
            role = iam.Role(
                self,
                f"{spec.construct_id}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                path=ROLE_PATH,
                # A fixed name (per region: role names are account-wide), so detection can tell the stack's own
                # calls by exact ARN, not by a path anyone allowed to create roles there could use.
                role_name=stack_role_name(spec.name, Aws.REGION),
                description=f"Execution role of the {spec.name} function",
            )
            for statement in function_statements(
                permissions, log_group.log_group_arn, spec.statements(permissions), creates_users=spec.creates_users
            ):
                role.add_to_policy(statement)

            function = lambda_.Function(
                self,
                f"{spec.construct_id}Function",
                description=spec.description,
                runtime=RUNTIME,
                architecture=ARCHITECTURE,
                handler=f"key_lifecycle.handlers.{spec.name}.lambda_handler",
                code=code,
                layers=[layer],
                role=role,
                timeout=spec.timeout,
                memory_size=256,
                tracing=lambda_.Tracing.ACTIVE,
                logging_format=lambda_.LoggingFormat.JSON,
                log_group=log_group,
                reserved_concurrent_executions=reserved_concurrency,
                on_failure=destinations.SqsDestination(self.on_failure_queue),
                retry_attempts=2,
                max_event_age=Duration.hours(1),
                environment={
                    **environment,
                    "POWERTOOLS_SERVICE_NAME": spec.name,
                    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
                    "POWERTOOLS_LOG_LEVEL": "INFO",
                },
            )
            for check, reason in CHECKOV_FUNCTION_ACKNOWLEDGEMENTS.items():
                acknowledge_checkov(function, check, reason)
            acknowledge(
                function,
                "L1",
                "Pinned to python3.13 to match the AWS-managed Powertools layer (python313) the tests run against.",
            )
            policy = role.node.find_child("DefaultPolicy")
            for finding, reason in wildcard_acknowledgements(permissions, spec.name).items():
                acknowledge(policy, finding, reason)

            self.functions[spec.name] = function
            self.roles[spec.name] = role
            self.log_groups[spec.name] = log_group
