"""What a run tells people and systems: its EventBridge events, its notification (one SNS message, with the
`owner` and `kind` attributes subscriptions filter on), and the owners' forewarnings of what is coming."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from key_lifecycle.domain.announce import run_events
from key_lifecycle.domain.forewarn import Forewarning, plan_forewarnings
from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.models.constants import FOREWARN_CODE_PREFIX, OWNER_TAG
from key_lifecycle.models.report import ActionStatus, Report, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.observability import logger
from key_lifecycle.service.context import Decision
from key_lifecycle.service.gate import Skip
from key_lifecycle.service.runner import Runner

SNS_MESSAGE_LIMIT = 250_000  # bytes; SNS accepts 256 KiB including attributes


def publish_run_events(decision: Decision, settings: Settings, aws: Aws) -> None:
    """The run's events on the bus: one per action done or failed and per warning."""
    report = decision.report
    publish_events(aws, settings, run_events(report, decision.snapshot, datetime.now(UTC)), report)


def notify_run(decision: Decision, settings: Settings, aws: Aws) -> None:
    """The run's notification, when it did or warns about anything."""
    if decision.notify and settings.notification_topic_arn and _worth_notifying(decision.report):
        _notify(aws, settings.notification_topic_arn, decision)


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


def _worth_notifying(report: Report) -> bool:
    section = _organization_run(report)
    if section is not None:
        # An organization run: anything done, failed or warned in any account, or an account that failed.
        done = any(a.get("status") != ActionStatus.PLANNED.value for a in section["actions"])
        return done or bool(section["warnings"] or section["accounts_failed"] or report.errors)
    return bool(report.warnings) or any(a.status is not ActionStatus.PLANNED for a in report.actions)


def _organization_run(report: Report) -> dict[str, Any] | None:
    """The aggregate section of an organization run's report (`aggregate_runs`), if the report is one."""
    section = report.organization
    return section if section is not None and "job" in section else None


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
    section = _organization_run(report)
    if section is not None:
        statuses = [a.get("status") for a in section["actions"]]
        done, failed = statuses.count(ActionStatus.DONE.value), statuses.count(ActionStatus.FAILED.value)
        counts = (
            f"{statuses.count(ActionStatus.PLANNED.value)} planned"
            if report.dry_run
            else f"{done} done, {failed} failed"
        )
        return (
            f"IAM key lifecycle {section['job']}, {section['accounts']} accounts "
            f"({len(section['accounts_failed'])} failed): {counts}, {len(section['warnings'])} warnings"
        )[:100]
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
    section = body["organization"] if _organization_run(report) is not None else {"actions": [], "warnings": []}
    if isinstance(body.get("advice"), dict):
        # The advisor's policies are in the run's return value; the notification keeps what and why.
        for key in body["advice"].get("keys", []):
            key["artefact"] = {}
        text = json.dumps(body, indent=1)
        if len(text.encode()) <= SNS_MESSAGE_LIMIT:
            return text
    body["truncated"] = {
        "actions": len(report.actions) + len(section["actions"]),
        "warnings": len(report.warnings) + len(section["warnings"]),
    }
    for keep in (500, 100, 10, 0):
        body["actions"], body["warnings"] = body["actions"][:keep], body["warnings"][:keep]
        section["actions"], section["warnings"] = section["actions"][:keep], section["warnings"][:keep]
        text = json.dumps(body)
        if len(text.encode()) <= SNS_MESSAGE_LIMIT:
            break
    return text


def _notify(aws: Aws, topic_arn: str, decision: Decision) -> None:
    report = decision.report
    try:
        aws.notifier.publish(
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
    """Warn each owner of what is due within a window, once: notify and publish, then record it on the user (under
    the user's lock, as every write)."""
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

    # The records are written after the sends, so the lock is taken now: the run's own earlier writes on a user
    # (released since) do not count as another run's.
    runner = Runner(aws, settings, datetime.now(UTC))
    for user_name in sorted({w.user_name for w in sent}):
        tags = {w.tag_key: w.tag_value for w in sent if w.user_name == user_name}
        problem = _locked_write(runner, user_name, lambda name=user_name, tags=tags: aws.iam.tag_user(name, tags))
        if problem is not None:
            report.errors.append(f"user {user_name}: forewarning sent but not recorded ({problem}); it may repeat")
    for user_name, keys in plan.stale_tags.items():
        if user_name.lower() in skip_users:
            continue
        problem = _locked_write(runner, user_name, lambda name=user_name, keys=keys: aws.iam.untag_user(name, keys))
        if problem is not None:
            logger.warning("old forewarning records not removed", extra={"user_name": user_name, "error": problem})
    return sent


def _locked_write(runner: Runner, user_name: str, write: Any) -> str | None:
    """None once written; otherwise why not."""
    try:
        result = runner.under_lock(user_name, write)
    except AwsError as exc:
        return str(exc)
    return result.message if isinstance(result, Skip) else None
