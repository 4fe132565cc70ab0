"""The handlers' side of seeing everything: EventBridge events of every run, forewarnings sent once per owner,
the posture audit and the inventory report (read-only invocations of the create function)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from key_lifecycle.domain.announce import run_events
from key_lifecycle.domain.audit import UserPolicies, audit_account, parse_credential_report
from key_lifecycle.domain.forewarn import Forewarning, plan_forewarnings
from key_lifecycle.domain.inventory import build_inventory
from key_lifecycle.gateways import AwsError, read_snapshot
from key_lifecycle.models.constants import AUDIT_CODE_PREFIX, AUDIT_DETAIL_TYPE, FOREWARN_CODE_PREFIX, PostureMetric
from key_lifecycle.models.report import Report, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.observability import logger, metrics

if TYPE_CHECKING:
    from key_lifecycle.gateways.aws import Aws

AUDIT_EVENT_FINDINGS = 100  # an event holds at most 256 KB; the full list is in the report and the notification


def publish_events(aws: Aws, settings: Settings, events: list[tuple[str, dict[str, Any]]], report: Report) -> None:
    """Put the events on the configured bus; a failure is reported, never turned into a failed run."""
    if not settings.event_bus_name or not events:
        return
    try:
        refused = aws.events.publish(settings.event_bus_name, events)
    except AwsError as exc:
        report.errors.append(f"events not published: {exc}")
        logger.error("events not published", extra={"error": str(exc)})
        return
    if refused:
        report.errors.append(f"events not published: EventBridge refused {refused} of {len(events)}")


def publish_run_events(report: Report, snapshot: AccountSnapshot | None, settings: Settings, aws: Aws) -> None:
    publish_events(aws, settings, run_events(report, snapshot, datetime.now(UTC)), report)


# Forewarnings -------------------------------------------------------------------------------------------


def send_forewarnings(
    aws: Aws,
    settings: Settings,
    snapshot: AccountSnapshot,
    now: datetime,
    *,
    dry_run: bool,
    report: Report,
    skip_users: set[str],
) -> list[Forewarning]:
    """Warn each owner of what is due within a window, once: notify and publish, then record it on the user."""
    plan = plan_forewarnings(snapshot, now, settings)
    due = [w for w in plan.warnings if w.user_name.lower() not in skip_users]
    for warning in due:
        report.warnings.append(
            Warning(
                user_name=warning.user_name,
                code=f"{FOREWARN_CODE_PREFIX}{warning.event}",
                message=warning.message,
                access_key_id=warning.access_key_id,
            )
        )
    if dry_run:
        return due

    by_owner: dict[str | None, list[Forewarning]] = defaultdict(list)
    for warning in due:
        by_owner[warning.owner].append(warning)
    unsent: set[str] = set()
    for owner, warnings in by_owner.items():
        if settings.notification_topic_arn:
            try:
                aws.notifier.publish(
                    settings.notification_topic_arn,
                    subject=f"IAM key lifecycle: {len(warnings)} upcoming change(s) for {owner or 'no owner'}",
                    message=json.dumps({"owner": owner, "upcoming": [w.as_detail() for w in warnings]}, indent=1),
                    owner=owner,
                    kind="forewarning",
                )
            except AwsError as exc:
                # Not recorded as sent: the next run tries again rather than the warning being lost.
                report.errors.append(f"forewarning to {owner or 'no owner'} not sent: {exc}")
                unsent.update(w.user_name for w in warnings)
                continue
    sent = [w for w in due if w.user_name not in unsent]
    publish_events(aws, settings, [(w.detail_type, w.as_detail()) for w in sent], report)

    for user_name in sorted({w.user_name for w in sent}):
        tags = {w.tag_key: w.tag_value for w in sent if w.user_name == user_name}
        try:
            aws.iam.tag_user(user_name, tags)
        except AwsError as exc:
            report.errors.append(f"user {user_name}: forewarning sent but not recorded ({exc}); it may repeat")
    for user_name, keys in plan.stale_tags.items():
        if user_name.lower() in skip_users:
            continue
        try:
            aws.iam.untag_user(user_name, keys)
        except AwsError as exc:
            logger.warning("old forewarning records not removed", extra={"user_name": user_name, "error": str(exc)})
    return sent


# Read-only reports ----------------------------------------------------------------------------------------


def audit_report(aws: Aws, settings: Settings, now: datetime, function: str) -> Report:
    """The posture audit as a report: each finding is also a warning (so it is notified), counts as metrics."""
    rows = parse_credential_report(aws.posture.credential_report())
    snapshot = read_snapshot(aws, settings, with_last_used=False)
    policies = {
        name: UserPolicies(attached=attached, inline=inline)
        for name, (attached, inline) in aws.posture.user_policies().items()
    }
    result = audit_account(
        rows,
        list(snapshot.users),
        policies,
        root_keys_present=aws.posture.root_access_keys_present(),
        now=now,
        settings=settings,
    )
    for code, count in result.counts.items():
        metrics.add_metric(name=PostureMetric[code.upper()].value, unit=MetricUnit.Count, value=count)
    report = Report(
        function=function,
        dry_run=False,
        warnings=[
            Warning(user_name=f.user_name, code=f"{AUDIT_CODE_PREFIX}{f.code}", message=f"[{f.control}] {f.message}")
            for f in result.findings
        ],
        audit=result.as_dict(),
    )
    summary = result.as_dict()
    summary["findings"] = summary["findings"][:AUDIT_EVENT_FINDINGS]
    publish_events(aws, settings, [(AUDIT_DETAIL_TYPE, summary)], report)
    return report


def inventory_report(aws: Aws, settings: Settings, now: datetime, function: str) -> Report:
    snapshot = read_snapshot(aws, settings)
    return Report(function=function, dry_run=False, inventory=build_inventory(snapshot, now, settings))
