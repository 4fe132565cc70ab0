"""The `advise` job: for every active access key of the account (the root user's excluded; managed or not), its
recent CloudTrail history and last use, the prefer-roles recommendation, and an event per key whose recommendation
changed since the previous run. Reads only: no key, user or policy is ever changed."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from key_lifecycle.domain import findings
from key_lifecycle.domain.advice_summary import replaces_key
from key_lifecycle.domain.advisor import Advice, advise, ranges_age_days
from key_lifecycle.gateways.advisor_state import AdvisorState
from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.models.advice import IpRanges, KeyUsage
from key_lifecycle.models.constants import ADVICE_DETAIL_TYPE, KeyStatus
from key_lifecycle.models.dates import as_utc, format_timestamp
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.report import Report, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.observability import logger
from key_lifecycle.service.budget import UNLIMITED, Budget
from key_lifecycle.service.notifications import publish_events

# A run stops reading keys when the Lambda has less than this left (the report and the events follow).
RESERVE_SECONDS = 15.0
# IP ranges older than this are reported: AWS adds ranges every week or so, and an old excerpt calls them elsewhere.
STALE_RANGES_DAYS = 90


def advise_report(
    aws: Aws,
    settings: Settings,
    now: datetime,
    function: str,
    *,
    user_name: str | None = None,
    time_budget: Budget = UNLIMITED,
    ranges: IpRanges | None = None,
) -> Report:
    """The recommendations as a report (`advice`); one event per key whose recommendation changed."""
    now = as_utc(now)
    ranges = ranges or IpRanges.bundled()
    report = Report(function=function, dry_run=False)
    users = [u for u in aws.iam.user_details() if user_name is None or u.user_name.lower() == user_name.lower()]
    if user_name is not None and not users:
        report.warnings.append(Warning(user_name=user_name, code="advice_no_such_user", message="no such IAM user"))
    keys: list[tuple[str, str, bool]] = []  # (user name, access key id, managed)
    for user in users:
        managed = is_managed(user, settings)
        keys += [
            (user.user_name, key.access_key_id, managed)
            for key in aws.iam.list_access_keys(user.user_name)
            if key.status == KeyStatus.ACTIVE
        ]
    state_gateway = aws.advisor_state(settings.lock_table_name) if settings.lock_table_name else None
    state = state_gateway.read() if state_gateway is not None else AdvisorState()
    # The keys a previous run could not read go first: over a few runs, every key is read.
    first = {key_id: index for index, key_id in enumerate(state.unread)}
    keys.sort(key=lambda k: (first.get(k[1], len(first)), k[0].lower(), k[1]))

    lookups = aws.lookup_budget(settings.advise_lookup_budget)
    guard = Budget(time_budget.remaining_ms, RESERVE_SECONDS)
    start = now - timedelta(days=settings.advise_window_days)
    account_id = aws.account_id or aws.caller_account_id
    advice: list[Advice] = []
    unread: list[str] = []
    for owner, key_id, managed in keys:
        if guard.exhausted() or lookups.remaining <= 0:
            unread.append(key_id)
            continue
        last_used, service, region = aws.iam.key_last_used(key_id)
        events = aws.trail.key_events(key_id, start, now, lookups)
        if not events.complete:
            unread.append(key_id)
            if not events.records:
                continue  # nothing read: no advice rather than a false "unused"
        usage = KeyUsage(
            user_name=owner,
            access_key_id=key_id,
            records=events.records,
            last_used_date=last_used,
            last_used_service=service,
            last_used_region=region,
            complete=events.complete,
            managed=managed,
        )
        advice.append(advise(usage, ranges, now=now, window_days=settings.advise_window_days, account_id=account_id))

    changes = [a for a in advice if a.complete and state.recommendations.get(a.access_key_id) != a.recommendation]
    remembered = state_gateway is not None
    if remembered:
        live = {key_id for _, key_id, _ in keys}
        recommendations = {k: v for k, v in state.recommendations.items() if k in live}
        recommendations.update({a.access_key_id: a.recommendation.value for a in advice if a.complete})
        assert state_gateway is not None
        state_gateway.write(AdvisorState(recommendations=recommendations, unread=tuple(unread)), now)
        # As the posture findings: this account's own (a member's runs import none; its role has no such grant).
        if settings.security_hub_findings and aws.hub is None:
            _import_advice_findings(aws, account_id, state.recommendations, recommendations, advice, report, now)
        publish_events(
            aws,
            settings,
            [(ADVICE_DETAIL_TYPE, _event(a, state.recommendations.get(a.access_key_id))) for a in changes],
            report,
        )
    for key_id in unread:
        report.warnings.append(
            Warning(
                user_name=next(u for u, k, _ in keys if k == key_id),
                access_key_id=key_id,
                code="advice_not_read",
                message="the run's LookupEvents budget or time ran out before this key was read; the next run "
                "reads it first",
            )
        )
    age = ranges_age_days(ranges, now)
    if age is None or age > STALE_RANGES_DAYS:
        report.warnings.append(
            Warning(
                user_name=None,
                code="advice_ip_ranges_stale",
                message=f"AWS's IP ranges are {age} days old: refresh them (docs/advisor.md)",
            )
        )
    report.advice = {
        "generated_at": format_timestamp(now),
        "window_days": settings.advise_window_days,
        "ip_ranges_created": format_timestamp(ranges.create_date) if ranges.create_date else None,
        "ip_ranges_age_days": age,
        "lookup_requests": lookups.used,
        "lookup_budget": settings.advise_lookup_budget,
        "keys": [dict(a.as_dict(), managed=_managed(keys, a.access_key_id)) for a in advice],
        "not_read": unread,
        "changed": [a.access_key_id for a in changes] if remembered else None,
        "totals": dict(sorted(Counter(a.recommendation.value for a in advice).items())),
    }
    return report


def _managed(keys: list[tuple[str, str, bool]], key_id: str) -> bool:
    return any(managed for _, k, managed in keys if k == key_id)


def _event(advice: Advice, previous: str | None) -> dict[str, Any]:
    """The event of a changed recommendation: what and why, each origin's share; the policies stay in the report
    (an event holds at most 256 KB)."""
    return {
        "user_name": advice.user_name,
        "access_key_id": advice.access_key_id,
        "recommendation": advice.recommendation.value,
        "previous_recommendation": previous,
        "reason": advice.reason,
        "origins": [o.as_dict() for o in advice.origins],
        "calls": advice.calls,
    }


def _import_advice_findings(
    aws: Aws,
    account_id: str,
    previous: dict[str, str],
    current: dict[str, str],
    advice: list[Advice],
    report: Report,
    now: datetime,
) -> None:
    """Security Hub: a key whose latest advice names a role is an informational finding, imported when that advice
    is new or changed; archived once its advice no longer names one or the key is gone. Unchanged advice imports
    nothing. A failed import is a run error (the finding catches up at the key's next change)."""
    read = {a.access_key_id: a for a in advice if a.complete}
    batch = []
    for key_id, recommendation in sorted(current.items()):
        if replaces_key(recommendation) and previous.get(key_id) != recommendation and key_id in read:
            a = read[key_id]
            batch.append(_advice_finding(aws, account_id, a.access_key_id, a.user_name, recommendation, a.reason, now))
    for key_id, recommendation in sorted(previous.items()):
        gone = key_id not in current
        if replaces_key(recommendation) and (gone or not replaces_key(current[key_id])):
            user_name = read[key_id].user_name if key_id in read else None
            reason = "the key is gone" if gone else f"the latest advice is {current[key_id]}"
            batch.append(_advice_finding(aws, account_id, key_id, user_name, recommendation, reason, now, cleared=True))
    if not batch:
        return
    try:
        refused = aws.findings.import_findings(batch)
    except AwsError as exc:
        report.errors.append(f"Security Hub findings not imported: {exc}")
        logger.error("Security Hub advice findings not imported", extra={"error": str(exc)})
        return
    if refused:
        report.errors.append(f"Security Hub refused {len(refused)} of {len(batch)} findings: {', '.join(refused[:5])}")


def _advice_finding(
    aws: Aws,
    account_id: str,
    key_id: str,
    user_name: str | None,
    recommendation: str,
    reason: str,
    now: datetime,
    *,
    cleared: bool = False,
) -> dict[str, Any]:
    return findings.advice_finding(
        access_key_id=key_id,
        user_name=user_name,
        recommendation=recommendation,
        reason=reason,
        account_id=account_id,
        region=aws.region,
        partition=aws.partition,
        now=now,
        cleared=cleared,
    )
