"""What the four handlers share: settings and clients cached per cold start, and the parse → run → log, metrics,
events and notification → report flow around one service function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from key_lifecycle.domain.plan import RequestRefused
from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.models.constants import Metric
from key_lifecycle.models.events import EventValidationError
from key_lifecycle.models.report import Report
from key_lifecycle.models.settings import OrganizationSettings, Settings, SettingsError
from key_lifecycle.observability import log_report, logger, metric_counts, record_metrics
from key_lifecycle.service.budget import UNLIMITED, Budget
from key_lifecycle.service.context import Context, Decision
from key_lifecycle.service.notifications import notify_run, publish_run_events


@cache
def get_settings() -> Settings:
    """Read and validated once per cold start; a bad value fails the invocation naming the variable."""
    return Settings.from_env()


@cache
def get_organization() -> OrganizationSettings:
    """Organization mode's settings, read and validated once per cold start (off unless ORGANIZATION_ID is set)."""
    return OrganizationSettings.from_env()


@cache
def get_aws() -> Aws:
    return Aws()


def reset_cold_start() -> None:
    """Forget cached settings and clients, as a new execution environment would (tests, the local account)."""
    get_settings.cache_clear()
    get_organization.cache_clear()
    get_aws.cache_clear()


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
        organization = get_organization()
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
    context = Context(
        settings=settings,
        aws=get_aws(),
        now=datetime.now(UTC),
        dry_run=dry_run,
        budget=budget,
        organization=organization,
    )
    logger.info("invoked", extra={"function": function, "request": _loggable(request), "dry_run": dry_run})
    try:
        decision = decide(request, context)
    except RequestRefused as exc:
        account_id = getattr(request, "account_id", None)
        decision = Decision(Report(function=function, dry_run=dry_run, account_id=account_id, errors=[str(exc)]))
    except AwsError as exc:
        # Reading the account failed (after botocore's retries): the run fails loudly, so alarms fire.
        logger.error("run failed", extra={"function": function, "error": str(exc)})
        record_metrics(function, {Metric.FAILURES: 1})
        raise
    return finish(decision, settings)


def finish(decision: Decision, settings: Settings) -> dict[str, Any]:
    report = decision.report
    publish_run_events(decision, settings, get_aws())
    log_report(report)
    record_metrics(report.function, metric_counts(report))
    notify_run(decision, settings, get_aws())
    return report.model_dump(mode="json")


def _loggable(request: object) -> object:
    dump = getattr(request, "model_dump", None)
    return dump(mode="json") if callable(dump) else None
