"""The deployed stack as read back from the account's APIs, as the local account runs it: its functions
(Lambda's GetFunctionConfiguration) and its schedules (EventBridge Scheduler)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from local_account.runtime import DeployedFunction
from local_account.schedules import ScheduleExpression

HANDLERS_PACKAGE = "key_lifecycle.handlers."


@dataclass(frozen=True)
class DeployedSchedule:
    """A schedule as read back from the Scheduler API."""

    name: str
    group_name: str
    arn: str
    expression: str
    timezone: str
    input: str | None
    target_arn: str
    role_arn: str | None
    state: str
    function: str | None  # the deployed function's name (a key of `read_functions`), if it targets one
    created: datetime
    start_date: datetime | None = None
    end_date: datetime | None = None
    retry_policy: dict[str, Any] = field(default_factory=dict)
    dead_letter_arn: str | None = None

    @property
    def event(self) -> Any:
        """What the target receives: the schedule's input (JSON), or `{}` when it has none."""
        return json.loads(self.input) if self.input else {}

    @property
    def enabled(self) -> bool:
        return self.state == "ENABLED"

    def firings(self, after: datetime, until: datetime) -> list[datetime]:
        """When this schedule fires in (after, until], honouring its state, start and end dates."""
        if not self.enabled:
            return []
        lower = max(after, self.start_date - timedelta(microseconds=1)) if self.start_date else after
        upper = min(until, self.end_date) if self.end_date else until
        if upper <= lower:
            return []
        expression = ScheduleExpression(self.expression, self.timezone)
        return list(expression.between(lower, upper, anchor=self.start_date or self.created))


def read_functions(lambda_client: Any, stack_resources: dict[str, dict[str, str]]) -> dict[str, DeployedFunction]:
    """Every function of the stack, named by its handler module (`rotate_keys`), else by its logical id."""
    functions: dict[str, DeployedFunction] = {}
    for logical_id, resource in stack_resources.items():
        if resource["type"] != "AWS::Lambda::Function":
            continue
        config = lambda_client.get_function_configuration(FunctionName=resource["physical_id"])
        handler = config["Handler"]
        module = handler.rsplit(".", 1)[0]
        name = module.rpartition(".")[2] if module.startswith(HANDLERS_PACKAGE) else logical_id
        functions[name] = DeployedFunction(
            name=name,
            function_name=config["FunctionName"],
            function_arn=config["FunctionArn"],
            handler=handler,
            environment=dict(config.get("Environment", {}).get("Variables", {})),
            role_arn=config["Role"],
            memory_mb=int(config.get("MemorySize", 128)),
            timeout_s=int(config.get("Timeout", 3)),
            runtime=config.get("Runtime", ""),
            logical_id=logical_id,
        )
    return functions


class ScheduleReader:
    """Every schedule, from ListSchedules; GetSchedule only for those new or modified since the last read.
    `created_default`: the creation date of a schedule the API gives none for (the account's start)."""

    def __init__(self, created_default: datetime) -> None:
        self._created_default = created_default
        self._cache: dict[tuple[str, str, str | None], DeployedSchedule] = {}

    def forget(self) -> None:
        """Read every schedule again on the next `read`."""
        self._cache.clear()

    def read(self, scheduler_client: Any, functions: dict[str, DeployedFunction]) -> dict[str, DeployedSchedule]:
        client = scheduler_client
        by_arn = {f.function_arn: f.name for f in functions.values()}
        schedules: dict[str, DeployedSchedule] = {}
        for groups in client.get_paginator("list_schedule_groups").paginate():
            for group in groups["ScheduleGroups"]:
                for page in client.get_paginator("list_schedules").paginate(GroupName=group["Name"]):
                    for summary in page["Schedules"]:
                        version = (summary["Arn"], str(summary.get("LastModificationDate")), summary.get("State"))
                        if version not in self._cache:
                            detail = client.get_schedule(Name=summary["Name"], GroupName=group["Name"])
                            self._cache[version] = self._schedule(group["Name"], detail, by_arn)
                        schedules[summary["Name"]] = self._cache[version]
        return schedules

    def _schedule(self, group_name: str, detail: dict[str, Any], by_arn: dict[str, str]) -> DeployedSchedule:
        target = detail["Target"]
        # A target may name a version or alias: arn:...:function:name[:qualifier].
        function_arn = ":".join(target["Arn"].split(":")[:7])
        return DeployedSchedule(
            name=detail["Name"],
            group_name=group_name,
            arn=detail["Arn"],
            expression=detail["ScheduleExpression"],
            timezone=detail.get("ScheduleExpressionTimezone") or "UTC",
            input=target.get("Input"),
            target_arn=target["Arn"],
            role_arn=target.get("RoleArn"),
            state=detail.get("State", "ENABLED"),
            function=by_arn.get(function_arn),
            created=as_utc(detail.get("CreationDate")) or self._created_default,
            start_date=as_utc(detail.get("StartDate")),
            end_date=as_utc(detail.get("EndDate")),
            retry_policy=dict(target.get("RetryPolicy", {})),
            dead_letter_arn=target.get("DeadLetterConfig", {}).get("Arn"),
        )


def as_utc(value: Any) -> datetime | None:
    """A date as the APIs return it (aware or naive datetime, epoch seconds, ISO text) in UTC; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value)).astimezone(UTC)
