"""The read-only requests of the create function: the posture audit and the inventory report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from key_lifecycle.domain.advice_summary import summarize_advice
from key_lifecycle.domain.audit import UserPolicies, audit_account
from key_lifecycle.domain.inventory import build_inventory
from key_lifecycle.gateways.advisor_state import AdvisorState
from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.gateways.snapshot import read_snapshot
from key_lifecycle.models.constants import AUDIT_CODE_PREFIX, AUDIT_DETAIL_TYPE, PostureMetric
from key_lifecycle.models.report import Report, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.observability import metrics
from key_lifecycle.service.notifications import publish_events

AUDIT_EVENT_FINDINGS = 100  # an event holds at most 256 KB; the full list is in the report and the notification


def audit_report(aws: Aws, settings: Settings, now: datetime, function: str) -> tuple[Report, AccountSnapshot]:
    """The posture audit as a report (each finding is also a warning, notified when it opens and when it clears;
    counts as metrics) and the snapshot it read (whose owner tags route the findings)."""
    credentials = aws.iam.credential_report(now)
    if credentials is None:
        # IAM did not finish generating one in time: the audit fails visibly and the next one tries again.
        raise AwsError("GetCredentialReport", "ReportInProgress")
    snapshot = read_snapshot(aws, settings, with_last_used=False)
    policies = {
        name: UserPolicies(attached=attached, inline=inline)
        for name, (attached, inline) in aws.posture.user_policies().items()
    }
    result = audit_account(
        credentials.rows,
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
        audit=result.as_dict() | {"advice": _advice_summary(aws, settings, now, snapshot)},
    )
    summary = result.as_dict()
    summary["findings"] = summary["findings"][:AUDIT_EVENT_FINDINGS]
    publish_events(aws, settings, [(AUDIT_DETAIL_TYPE, summary)], report)
    return report, snapshot


def remembered_advice(aws: Aws, settings: Settings) -> AdvisorState:
    """The advisor's last recommendations (one GetItem of its item, per account in organization mode): empty
    without a lock table or before its first run. Never LookupEvents: that is the advisor's own, budgeted work."""
    if not settings.lock_table_name:
        return AdvisorState()
    return aws.advisor_state(settings.lock_table_name).read()


def _advice_summary(aws: Aws, settings: Settings, now: datetime, snapshot: AccountSnapshot) -> dict[str, Any]:
    """The advisor's last run in short, from its memory (the users' names from the audit's own snapshot)."""
    advice = remembered_advice(aws, settings)
    user_of = {key.access_key_id: user.user_name for user in snapshot.users for key in user.keys}
    return summarize_advice(advice.recommendations, advice.written_at, now, user_of)


def inventory_report(aws: Aws, settings: Settings, now: datetime, function: str) -> Report:
    snapshot = read_snapshot(aws, settings)
    advice = remembered_advice(aws, settings)
    inventory = build_inventory(snapshot, now, settings, advice=advice.recommendations, advised_at=advice.written_at)
    return Report(function=function, dry_run=False, inventory=inventory)
