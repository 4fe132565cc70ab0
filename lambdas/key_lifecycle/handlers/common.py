"""What the three handlers share: settings and clients cached per cold start, the plan → apply → report
flow, and the notification of a run."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from key_lifecycle.domain.planner import RequestRefused
from key_lifecycle.gateways import Aws, AwsError
from key_lifecycle.handlers.detection import publish_run_events
from key_lifecycle.models.constants import OWNER_TAG, Metric
from key_lifecycle.models.events import CreateUserEvent, EventValidationError
from key_lifecycle.models.report import ActionStatus, Plan, Report
from key_lifecycle.models.settings import Settings, SettingsError
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.observability import log_report, logger, metric_counts, record_metrics
from key_lifecycle.service.budget import UNLIMITED, Budget
from key_lifecycle.service.confirm import ReadMode, apply_in_parallel, plan_confirmed
from key_lifecycle.service.runner import Runner, RunOutcome

# How runs over every user read the account: "bulk" (a handful of calls, then per-user confirmation of the users
# a plan touches) or "scan" (every user read one by one; kept for the benchmark's side-by-side comparison).
READ_MODE: ReadMode = "bulk"
SNS_MESSAGE_LIMIT = 250_000  # bytes; SNS accepts 256 KiB including attributes


@cache
def get_settings() -> Settings:
    """Read and validated once per cold start; a bad value fails the invocation naming the variable."""
    return Settings.from_env()


@cache
def get_aws() -> Aws:
    return Aws()


def reset_cold_start() -> None:
    """Forget cached settings and clients, as a new execution environment would (tests, the local account)."""
    get_settings.cache_clear()
    get_aws.cache_clear()


@dataclass(frozen=True)
class Context:
    settings: Settings
    aws: Aws
    now: datetime  # read per invocation, never cached: schedules and the virtual clock move it
    dry_run: bool
    budget: Budget = UNLIMITED  # the Lambda time left (a run near its timeout leaves the rest to the next run)


@dataclass
class Decision:
    report: Report
    snapshot: AccountSnapshot | None = None
    owner: str | None = None  # the owner the run concerns, when the request names one
    kind: str | None = None  # the notification's `kind` attribute (subscriptions filter on it); none for run reports


E = TypeVar("E")


def handle(
    function: str,
    event: object,
    parse: Callable[[object], E],
    decide: Callable[[E, Context], Decision],
    lambda_context: object = None,
) -> dict[str, Any]:
    """Parse → decide (snapshot, plan, apply or dry run) → log, metrics, notification → the report as JSON."""
    try:
        settings = get_settings()
    except SettingsError as exc:
        # A deployment mistake: every invocation fails, visibly, until the environment is fixed.
        logger.error("invalid settings", extra={"function": function, "error": str(exc)})
        record_metrics(function, {Metric.FAILURES: 1})
        raise
    try:
        request = parse(event)
    except EventValidationError as exc:
        # A manual caller sees every bad field at once; nothing was read or changed.
        errors = [f"{p['field']}: {p['message']}" for p in exc.problems]
        return finish(Decision(Report(function=function, dry_run=settings.dry_run, errors=errors)), settings)
    dry_run = bool(getattr(request, "dry_run", None)) or settings.dry_run
    remaining = getattr(lambda_context, "get_remaining_time_in_millis", None)
    budget = Budget(remaining, settings.verify_timeout_seconds + 15) if callable(remaining) else UNLIMITED
    context = Context(settings=settings, aws=get_aws(), now=datetime.now(UTC), dry_run=dry_run, budget=budget)
    logger.info("invoked", extra={"function": function, "request": _loggable(request), "dry_run": dry_run})
    try:
        decision = decide(request, context)
    except RequestRefused as exc:
        decision = Decision(Report(function=function, dry_run=dry_run, errors=[str(exc)]))
    except AwsError as exc:
        # Reading the account failed (after botocore's retries): the run fails loudly, so alarms fire.
        logger.error("run failed", extra={"function": function, "error": str(exc)})
        record_metrics(function, {Metric.FAILURES: 1})
        raise
    return finish(decision, settings)


def execute(
    function: str,
    plan: Plan,
    snapshot: AccountSnapshot,
    context: Context,
    *,
    request: CreateUserEvent | None = None,
    finish_provisioning: bool = False,
) -> tuple[Report, RunOutcome | None]:
    """Apply the plan, or in a dry run return it as planned without a single AWS write."""
    if context.dry_run:
        return Report(function=function, dry_run=True, actions=plan.actions, warnings=plan.warnings), None
    if request is None:
        # A scheduled run may touch many users: several at a time, each in order, within the time budget.
        outcome = apply_in_parallel(
            context.aws,
            context.settings,
            context.now,
            plan,
            snapshot,
            finish_provisioning=finish_provisioning,
            budget=context.budget,
        )
    else:
        runner = Runner(
            context.aws, context.settings, context.now, finish_provisioning=finish_provisioning, budget=context.budget
        )
        outcome = runner.apply(plan, snapshot, request=request)
    report = Report(
        function=function,
        dry_run=False,
        actions=outcome.actions,
        warnings=outcome.warnings,
        errors=outcome.errors,
    )
    return report, outcome


def read_and_plan(
    context: Context,
    planner: Callable[[AccountSnapshot], Plan],
    *,
    with_last_used: bool = True,
    also_confirm: Callable[[AccountSnapshot], Iterable[str]] | None = None,
) -> tuple[AccountSnapshot, Plan]:
    """The snapshot and plan of a run over every user: bulk reads, then the users the plan touches re-read one
    by one and planned again (READ_MODE "scan" reads every user one by one instead)."""
    decided = plan_confirmed(
        context.aws,
        context.settings,
        context.now,
        planner,
        mode=READ_MODE,
        with_last_used=with_last_used,
        also_confirm=also_confirm,
    )
    return decided.snapshot, decided.plan


def finish(decision: Decision, settings: Settings) -> dict[str, Any]:
    report = decision.report
    publish_run_events(report, decision.snapshot, settings, get_aws())
    log_report(report)
    record_metrics(report.function, metric_counts(report))
    if settings.notification_topic_arn and _worth_notifying(report):
        _notify(settings.notification_topic_arn, decision)
    return report.model_dump(mode="json")


def _loggable(request: object) -> object:
    dump = getattr(request, "model_dump", None)
    return dump(mode="json") if callable(dump) else None


def _worth_notifying(report: Report) -> bool:
    return bool(report.warnings) or any(a.status is not ActionStatus.PLANNED for a in report.actions)


def owner_of(decision: Decision) -> str | None:
    """The one owner every user in the report belongs to, or None when the run concerns several (or none)."""
    if decision.owner:
        return decision.owner
    report, snapshot = decision.report, decision.snapshot
    if snapshot is None:
        return None
    names = {a.user_name for a in report.actions} | {w.user_name for w in report.warnings if w.user_name}
    owners = set()
    for name in names:
        user = snapshot.find(name)
        owners.add(user.tags.get(OWNER_TAG) if user is not None else None)
    if len(owners) == 1:
        (owner,) = owners
        return owner
    return None


def subject_for(report: Report) -> str:
    done = sum(1 for a in report.actions if a.status is ActionStatus.DONE)
    failed = sum(1 for a in report.actions if a.status is ActionStatus.FAILED)
    planned = sum(1 for a in report.actions if a.status is ActionStatus.PLANNED)
    counts = f"{planned} planned" if report.dry_run else f"{done} done, {failed} failed"
    subject = f"IAM key lifecycle {report.function}: {counts}, {len(report.warnings)} warnings"
    return subject[:100]


def message_for(report: Report) -> str:
    """The report as JSON, shortened (never cut mid-JSON) if it would not fit in one SNS message."""
    body = report.model_dump(mode="json")
    text = json.dumps(body, indent=1)
    if len(text.encode()) <= SNS_MESSAGE_LIMIT:
        return text
    body["truncated"] = {"actions": len(report.actions), "warnings": len(report.warnings)}
    for keep in (500, 100, 10, 0):
        body["actions"], body["warnings"] = body["actions"][:keep], body["warnings"][:keep]
        text = json.dumps(body)
        if len(text.encode()) <= SNS_MESSAGE_LIMIT:
            break
    return text


def _notify(topic_arn: str, decision: Decision) -> None:
    report = decision.report
    try:
        get_aws().notifier.publish(
            topic_arn,
            subject=subject_for(report),
            message=message_for(report),
            owner=owner_of(decision),
            kind=decision.kind,
        )
    except AwsError as exc:
        # The run itself is done; a lost notification is reported, not turned into a failed run.
        report.errors.append(f"notification not sent: {exc}")
        logger.error("notification not sent", extra={"error": str(exc)})
