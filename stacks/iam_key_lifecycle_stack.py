"""The IamKeyLifecycle stack: composes the constructs from the typed config; creates no IAM user or access key."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Aws, CfnOutput, CfnRule, CfnRuleAssertion, Fn, Stack
from constructs import Construct

from stacks.config import ROLE_PATH, LifecycleConfig, reader_account
from stacks.detection import ChangeDetection
from stacks.functions import LifecycleFunctions
from stacks.guardrails import TemporaryUserGuardrails
from stacks.locks import UserLocks
from stacks.monitoring import Monitoring
from stacks.notifications import Notifications
from stacks.organization import OrganizationHub, SpokeTemplates
from stacks.permissions import PermissionScope
from stacks.schedules import LifecycleSchedules, ScheduleSpec
from stacks.secrets import SecretsEncryption
from stacks.security_hub import SecurityHubFindings

EXAMPLE_CREATE_PAYLOAD = {
    "action": "create_user",
    "user_name": "temporary-iam-user",
    "owner": "platform-team@example.com",
    "ttl_days": 7,
}


class IamKeyLifecycleStack(Stack):
    """Four functions under least-privilege roles, their schedules, the temporary users' guardrails, alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: LifecycleConfig,
        powertools_version: str,
        spoke: SpokeTemplates | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="Creates, rotates and cleans up the access keys of temporary IAM users",
            **kwargs,
        )
        secrets = SecretsEncryption(self, "SecretsEncryption", secret_readers=config.secret_readers)
        if config.secret_readers:
            # The stack is environment-agnostic: the readers' account is checked against the one deployed to.
            partition, account = reader_account(config.secret_readers)
            CfnRule(
                self,
                "SecretReadersInThisAccount",
                assertions=[
                    CfnRuleAssertion(
                        assert_=Fn.condition_and(
                            Fn.condition_equals(Aws.ACCOUNT_ID, account), Fn.condition_equals(Aws.PARTITION, partition)
                        ),
                        assert_description="secret_readers must be principals of the account the stack is deployed to",
                    )
                ],
            )
        notifications = Notifications(self, "Notifications", email=config.notification_email)
        guardrails = TemporaryUserGuardrails(
            self,
            "TemporaryUserGuardrails",
            secret_prefix=config.secret_prefix,
            secrets_key_arn=secrets.key.key_arn,
            allowed_managed_policies=config.allowed_managed_policies,
        )
        locks = UserLocks(self, "UserLocks")
        settings = {
            field: _env_value(value)
            for field, value in {
                **config.engine_settings(),
                "permissions_boundary_arn": guardrails.boundary.managed_policy_arn,
                "temporary_user_group": guardrails.group.group_name,
                "removable_group_path": config.removable_group_path or "",
                "notification_topic_arn": notifications.topic.topic_arn,
                "secret_kms_key_id": secrets.key.key_arn,
                "lock_table_name": locks.table.table_name,
                "event_bus_name": "default",
                "stack_role_path": ROLE_PATH,
            }.items()
        }
        functions = LifecycleFunctions(
            self,
            "Functions",
            permissions=PermissionScope.of(
                config,
                boundary_arn=guardrails.boundary.managed_policy_arn,
                group_arn=guardrails.group.group_arn,
                secrets_key_arn=secrets.key.key_arn,
                topic_arn=notifications.topic.topic_arn,
                topic_key_arn=notifications.key.key_arn,
            ),
            settings=settings,
            log_retention_days=config.log_retention_days,
            reserved_concurrency=config.reserved_concurrency,
            powertools_version=powertools_version,
        )
        # Every function that writes takes the user's lock: those that apply plans, and the change detection when
        # it deactivates out-of-band keys.
        writers = ["create_keys", "rotate_keys", "cleanup_users"]
        if config.out_of_band_key_response == "deactivate":
            writers.append("detect_changes")
        for name in writers:
            # The scheduled runs of these three record the open conditions they notify.
            locks.allow(functions.roles[name], conditions=name != "detect_changes")
        # The advisor remembers its last recommendations in the lock table (one item, read back by the next run).
        locks.allow_advisor_memory(functions.roles["rotate_keys"])
        # The inventory report and the audit (create function) show its last recommendations.
        locks.allow_advisor_memory_read(functions.roles["create_keys"])
        if config.security_hub_findings:
            SecurityHubFindings(
                self,
                "SecurityHubFindings",
                roles=[functions.roles[name] for name in ("create_keys", "rotate_keys", "cleanup_users")],
            )
        # cleanup_users only deletes secrets, which needs no key access.
        secrets.allow_functions([functions.roles["create_keys"], functions.roles["rotate_keys"]])

        specs = (
            ScheduleSpec(
                "Reconcile",
                "create_keys",
                {"action": "reconcile"},
                config.reconcile_schedule,
                config.schedules_enabled.reconcile,
                "Makes every managed user hold exactly one verified key stored in its secret",
            ),
            ScheduleSpec(
                "Rotate",
                "rotate_keys",
                {},
                config.rotate_schedule,
                config.schedules_enabled.rotate,
                "Rotates keys past their age, deactivates replaced keys, deletes deactivated keys",
            ),
            ScheduleSpec(
                "Cleanup",
                "cleanup_users",
                {},
                config.cleanup_schedule,
                config.schedules_enabled.cleanup,
                "Deletes expired and stale temporary users with every credential they hold",
            ),
            ScheduleSpec(
                "Audit",
                "create_keys",
                {"action": "audit"},
                config.audit_schedule,
                config.schedules_enabled.audit,
                "Audits the account's access key posture (root keys, old and unused keys, direct policies)",
            ),
            ScheduleSpec(
                "Advise",
                "rotate_keys",
                {"action": "advise"},
                config.advise_schedule,
                config.schedules_enabled.advise,
                "Tells where each access key is used from and the role that could replace it (read-only)",
            ),
        )
        hub = None
        if config.organization.enabled:
            assert spoke is not None, "organization mode needs the spoke's templates (stacks.organization)"
            hub = OrganizationHub(
                self,
                "Organization",
                organization=config.organization,
                spoke=spoke,
                functions=functions.functions,
                roles=functions.roles,
                schedules=specs,
                logs_key=functions.logs_key,
                log_retention_days=config.log_retention_days,
            )
        # The digest reads this deployment's own record of open conditions: in organization mode too it is one
        # invocation of the create function, never a state machine over the accounts.
        digest = config.digest_schedule
        digest_specs = (
            ()
            if digest is None
            else (
                ScheduleSpec(
                    "Digest",
                    "create_keys",
                    {"action": "digest"},
                    digest,
                    True,
                    f"Sends the operator a {config.digest} digest of what changed and what is open",
                ),
            )
        )
        schedules = LifecycleSchedules(
            self,
            "Schedules",
            functions=functions.functions,
            time_zone=config.schedule_time_zone,
            specs=specs + digest_specs,
            state_machines=hub.state_machines if hub else None,
        )
        detection = ChangeDetection(
            self,
            "ChangeDetection",
            function=functions.functions["detect_changes"],
            role_path=ROLE_PATH,
            create_trail=config.create_cloudtrail_trail,
        )
        Monitoring(
            self,
            "Monitoring",
            functions=functions.functions,
            queues={
                "OnFailureQueue": functions.on_failure_queue,
                **{f"{name}DeadLetterQueue": queue for name, queue in schedules.dead_letter_queues.items()},
                "ChangeRuleDeadLetterQueue": detection.dead_letter_queue,
            },
            topic=notifications.topic,
        )

        for name, function in functions.functions.items():
            CfnOutput(
                self,
                f"{_pascal(name)}FunctionName",
                value=function.function_name,
                description=f"The {name} function",
            )
        CfnOutput(self, "NotificationTopicArn", value=notifications.topic.topic_arn)
        CfnOutput(self, "SecretPrefix", value=config.secret_prefix, description="Each user's secret: <prefix><user>")
        CfnOutput(self, "TemporaryUserGroupName", value=guardrails.group.group_name)
        CfnOutput(self, "PermissionsBoundaryArn", value=guardrails.boundary.managed_policy_arn)
        CfnOutput(self, "SecretsKeyArn", value=secrets.key.key_arn)
        CfnOutput(
            self,
            "ManualCreateCommand",
            description="Creates the article's temporary user; change user_name, owner and ttl_days",
            value=(
                f"aws lambda invoke --function-name {functions.functions['create_keys'].function_name} "
                "--cli-binary-format raw-in-base64-out "
                f"--payload '{json.dumps(EXAMPLE_CREATE_PAYLOAD, separators=(',', ':'))}' out.json"
            ),
        )


def _env_value(value: object) -> str:
    if isinstance(value, tuple | list):
        return ",".join(_env_value(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
