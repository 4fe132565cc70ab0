"""What a run tells people and systems: its EventBridge events, its notification (one SNS message, with the
`owner` and `kind` attributes subscriptions filter on), and the owners' forewarnings of what is coming."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from key_lifecycle.domain import findings, notices
from key_lifecycle.domain.announce import run_events
from key_lifecycle.domain.forewarn import Forewarning, plan_forewarnings
from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.conditions import ConditionStore, Stored
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.models.constants import CHANGE_CODE_PREFIX, FOREWARN_CODE_PREFIX, OWNER_TAG
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.report import ActionStatus, Report, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.observability import logger
from key_lifecycle.service.context import Decision
from key_lifecycle.service.gate import Skip
from key_lifecycle.service.runner import Runner

SNS_MESSAGE_LIMIT = 250_000  # bytes; SNS accepts 256 KiB including attributes
DIGEST_LOG_MAX = 2000  # changes kept for the operator's digest between two digests


def publish_run_events(decision: Decision, settings: Settings, aws: Aws) -> None:
    """The run's events on the bus: one per action done or failed and per warning."""
    report = decision.report
    publish_events(aws, settings, run_events(report, decision.snapshot, datetime.now(UTC)), report)


def notify_run(decision: Decision, settings: Settings, aws: Aws) -> None:
    """The run's messages: per owner (and one for the operator), only what is new since the last run of its kind."""
    if not decision.notify or not settings.notification_topic_arn:
        return
    report = decision.report
    section = _organization_run(report)
    if section is not None:
        # Each account's run told its owners what it did and what opened or cleared; the aggregate tells the
        # operator only what went wrong: an account that failed, or the run's own errors.
        if section["accounts_failed"] or report.errors:
            _notify_organization_run(aws, settings.notification_topic_arn, decision)
        return
    if decision.kind == notices.KIND_OUT_OF_BAND:
        _notify_change(aws, settings.notification_topic_arn, decision)
        return
    _notify_per_owner(aws, settings, decision)


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


def _organization_run(report: Report) -> dict[str, Any] | None:
    """The aggregate section of an organization run's report (`aggregate_runs`), if the report is one."""
    section = report.organization
    return section if section is not None and "job" in section else None


def organization_subject(report: Report) -> str:
    """The operator's subject for an organization run: the job, the accounts (failed), the actions and warnings."""
    section = _organization_run(report)
    assert section is not None
    statuses = [a.get("status") for a in section["actions"]]
    done, failed = statuses.count(ActionStatus.DONE.value), statuses.count(ActionStatus.FAILED.value)
    counts = (
        f"{statuses.count(ActionStatus.PLANNED.value)} planned" if report.dry_run else f"{done} done, {failed} failed"
    )
    return (
        f"IAM key lifecycle {section['job']}, {section['accounts']} accounts "
        f"({len(section['accounts_failed'])} failed): {counts}, {len(section['warnings'])} warnings"
    )[:100]


def organization_message(report: Report) -> str:
    """The operator's message of an organization run, in plain language: which accounts failed and why, the run's
    errors, and the counts (each account's owners were told of their own users by that account's run; the full
    report is in the function's logs)."""
    section = _organization_run(report)
    assert section is not None
    failed = section["accounts_failed"]
    lines = [
        f"The {section['job']} run over {section['accounts']} accounts of the organization: "
        f"{len(section['accounts_done'])} done, {len(failed)} failed.",
        "",
    ]
    if failed:
        lines.append("Accounts that failed (the next run tries them again; each failure is also in the logs):")
        lines += [f"- {f['account_id']}: {f['reason']}" for f in failed]
        lines.append(
            "What to do: check the account's spoke stack (StackSet instance) and its role for this function; an "
            "account that left the target OUs or was suspended is no longer listed."
        )
        lines.append("")
    if report.errors:
        lines.append("Errors:")
        lines += [f"- {e}" for e in report.errors]
        lines.append("")
    statuses = [a.get("status") for a in section["actions"]]
    lines.append(
        f"In all accounts: {statuses.count(ActionStatus.DONE.value)} actions done, "
        f"{statuses.count(ActionStatus.FAILED.value)} failed, {len(section['warnings'])} warnings; the owners were "
        "told of their own users by each account's run. The full report is in the create function's logs."
    )
    text = "\n".join(lines)
    return (
        text
        if len(text.encode()) <= SNS_MESSAGE_LIMIT
        else text.encode()[: SNS_MESSAGE_LIMIT - 64].decode(errors="ignore")
        + "\n(shortened: the full list is in the logs)"
    )


def _notify_organization_run(aws: Aws, topic_arn: str, decision: Decision) -> None:
    report = decision.report
    try:
        aws.notifier.publish(
            topic_arn,
            subject=organization_subject(report),
            message=organization_message(report),
            owner=None,
            kind=decision.kind,
        )
    except AwsError as exc:
        # The run itself is done; a lost notification is reported, not turned into a failed run.
        report.errors.append(f"notification not sent: {exc}")
        logger.error("notification not sent", extra={"error": str(exc)})


def owners_in(snapshot: AccountSnapshot | None) -> dict[str, str | None]:
    """Each user's owner tag, by lower-cased user name."""
    if snapshot is None:
        return {}
    return {user.user_name.lower(): user.tags.get(OWNER_TAG) for user in snapshot.users}


def _notify_per_owner(aws: Aws, settings: Settings, decision: Decision) -> None:
    """State, not repetition: the run's conditions are compared with the ones already told (kept in the lock table);
    each owner gets one message about their own users (what was done or failed, what opened, what cleared), the
    operator one about the rest. Published first, recorded after: a crash in between repeats a message at most."""
    report, topic = decision.report, settings.notification_topic_arn
    assert topic is not None
    now = datetime.now(UTC)
    owners = owners_in(decision.snapshot)
    if decision.owner:
        for user_name in {a.user_name.lower() for a in report.actions} | {
            w.user_name.lower() for w in report.warnings if w.user_name
        }:
            owners.setdefault(user_name, decision.owner)
    seen = notices.conditions_of(report.warnings, owners, now)
    store, stored = _load_conditions(aws, settings, decision, report)
    silent: set[str] = set()
    if store is not None and stored is not None and decision.source is not None:
        previous = {cid: notices.Condition.from_record(cid, r) for cid, r in stored.records.items()}
        changes = notices.compare(previous, seen)
        # The same condition seen by another schedule (a user in the path without the tag is seen by all three) is
        # told once: when the first opens it and when the last clears it; the others record it silently.
        if changes.opened or changes.cleared:
            elsewhere = _open_elsewhere(store, decision.source)
            silent = {c.id for c in changes.opened + changes.cleared if c.id in elsewhere}
        changes.opened = [c for c in changes.opened if c.id not in silent]
        changes.cleared = [c for c in changes.cleared if c.id not in silent]
        # What came with this run's actions is told with them, and never held open (nothing to clear later).
        changes.opened += _events(report, owners, now)
    elif decision.source is not None:
        # A scheduled run whose state is unknown (no table configured, or it could not be read): everything it
        # sees is told, since a duplicate is better than a lost warning.
        changes = notices.Changes(opened=[*seen.values(), *_events(report, owners, now)])
    else:
        # A manual request: its warnings are told with what it did, never on their own (the caller has the
        # report; the scheduled runs keep track of the conditions).
        told_now = [*seen.values(), *_events(report, owners, now)]
        changes = notices.Changes(opened=told_now if _acted(report) else [])

    audiences: dict[str | None, notices.Audience] = defaultdict(notices.Audience)
    for action in report.actions:
        if action.status is ActionStatus.DONE:
            audiences[owners.get(action.user_name.lower())].done.append(action)
        elif action.status is ActionStatus.FAILED:
            audiences[owners.get(action.user_name.lower())].failed.append(action)
    for condition in changes.opened:
        audiences[condition.owner].opened.append(condition)
    for condition in changes.cleared:
        audiences[condition.owner].cleared.append(condition)
    if decision.source is not None or _acted(report):
        # A manual request that did nothing (refused, or a bad payload) tells nobody: its caller has the errors.
        audiences[None].errors.extend(report.errors)

    source = decision.source or report.function
    told: set[str] = set()
    for owner, audience in sorted(audiences.items(), key=lambda item: item[0] or ""):
        if audience.empty():
            continue
        subject, body = notices.render(
            audience,
            owner=owner,
            source=source,
            function=report.function,
            now=now,
            account_id=report.account_id,
            dry_run=report.dry_run,
        )
        kind = (
            notices.KIND_OPERATOR
            if owner is None
            else (notices.KIND_AUDIT if decision.kind == notices.KIND_AUDIT else notices.KIND_RUN)
        )
        try:
            aws.notifier.publish(topic, subject=subject, message=body, owner=owner, kind=kind)
        except AwsError as exc:
            # Not recorded: the next run tells it again rather than it being lost; the run itself is done.
            report.errors.append(f"notification to {owner or 'the operator'} not sent: {exc}")
            logger.error("notification not sent", extra={"owner": owner, "error": str(exc)})
            continue
        told.update(c.id for c in audience.opened + audience.cleared)
    if settings.security_hub_findings and stored is not None and report.account_id is None:
        # (A finding is imported from its own account: a member account's run, acting through its spoke role, files
        # none; docs/notifications.md.)
        # A finding Security Hub did not take is not recorded either: the next run tells and imports it again.
        told -= _import_findings(aws, changes, report, now)
    if store is not None and stored is not None and decision.source is not None:
        _record(store, stored, changes, told | silent, decision.source, report, now)
    elif decision.source is None and settings.lock_table_name and _acted(report) and report.account_id is None:
        # A manual request keeps no conditions; what it did and what failed still reach the operator's digest.
        _record_manual(aws.conditions(settings.lock_table_name), report, now)


def _import_findings(aws: Aws, changes: notices.Changes, report: Report, now: datetime) -> set[str]:
    """Opened conditions as FAILED/ACTIVE findings, cleared ones as PASSED/ARCHIVED; the ids of the conditions whose
    finding was not imported."""
    account_id, region, partition = report.account_id or aws.caller_account_id, aws.region, aws.partition
    pending = [(c, False) for c in changes.opened if findings.is_finding(c)]
    pending += [(c, True) for c in changes.cleared if findings.is_finding(c)]
    if not pending:
        return set()
    batch = [
        findings.finding(c, account_id=account_id, region=region, partition=partition, now=now, cleared=cleared)
        for c, cleared in pending
    ]
    by_finding = {findings.finding_id(account_id, c): c.id for c, _ in pending}
    try:
        refused = aws.findings.import_findings(batch)
    except AwsError as exc:
        report.errors.append(f"Security Hub findings not imported: {exc}")
        logger.error("Security Hub findings not imported", extra={"error": str(exc)})
        return set(by_finding.values())
    if refused:
        report.errors.append(f"Security Hub refused {len(refused)} of {len(batch)} findings: {', '.join(refused[:5])}")
    return {by_finding[f] for f in refused if f in by_finding}


def _events(report: Report, owners: dict[str, str | None], now: datetime) -> list[notices.Condition]:
    return list(notices.conditions_of(report.warnings, owners, now, events=True).values())


def _acted(report: Report) -> bool:
    """Whether the run carried out (or failed) an action: a dry run's plan is not news."""
    return any(a.status is not ActionStatus.PLANNED for a in report.actions)


def _load_conditions(
    aws: Aws, settings: Settings, decision: Decision, report: Report
) -> tuple[ConditionStore | None, Stored | None]:
    """The run's own source's state (None for a manual request, or when it cannot be read)."""
    if decision.source is None or not settings.lock_table_name:
        return None, None
    store = aws.conditions(settings.lock_table_name)
    try:
        return store, store.load(decision.source)
    except AwsError as exc:
        report.errors.append(f"open conditions not read ({exc}); every warning of this run is told")
        logger.error("open conditions not read", extra={"error": str(exc)})
        return store, None


def _open_elsewhere(store: ConditionStore, source: str) -> set[str]:
    """The conditions the other schedules hold open (read only when this run has news: most runs have none).
    Unreadable: none, so this run tells its news (a duplicate at most)."""
    try:
        return {cid for other in notices.SOURCES if other != source for cid in store.load(other).records}
    except AwsError as exc:
        logger.warning("other schedules' open conditions not read", extra={"error": str(exc)})
        return set()


def _record(
    store: ConditionStore,
    stored: Stored,
    changes: notices.Changes,
    told: set[str],
    source: str,
    report: Report,
    now: datetime,
) -> None:
    """The new state, with only what was told: an opened condition not told is not recorded (told next run), a
    cleared one not told stays open (its clearing is told next run)."""
    records = {cid: c.as_record() for cid, c in changes.still_open.items() if cid in stored.records or cid in told}
    for condition in changes.cleared:
        if condition.id not in told:
            records[condition.id] = stored.records[condition.id]
    log = list(stored.log)
    stamp = format_timestamp(now)
    log += [{"at": stamp, "change": "opened", **c.as_record()} for c in changes.opened if c.id in told]
    log += [{"at": stamp, "change": "cleared", **c.as_record()} for c in changes.cleared if c.id in told]
    done = [a for a in report.actions if a.status is not ActionStatus.PLANNED]
    if done or report.errors:
        log.append(
            {
                "at": stamp,
                "change": "run",
                "function": report.function,
                "done": sum(1 for a in done if a.status is ActionStatus.DONE),
                "failed": sum(1 for a in done if a.status is ActionStatus.FAILED),
                "errors": len(report.errors),
            }
        )
    if records == stored.records and log == stored.log:
        return  # nothing changed: no write
    try:
        saved = store.save(source, Stored(records, stored.version, log[-DIGEST_LOG_MAX:]), now=now)
    except AwsError as exc:
        saved = False
        logger.error("open conditions not recorded", extra={"error": str(exc)})
    if not saved:
        report.errors.append(f"open conditions of {source} not recorded; what this run told may be told again")


def _record_manual(store: ConditionStore, report: Report, now: datetime) -> None:
    try:
        stored = store.load(notices.MANUAL)
    except AwsError as exc:
        logger.error("manual run not recorded for the digest", extra={"error": str(exc)})
        return
    _record(store, stored, notices.Changes(), set(), notices.MANUAL, report, now)


def _notify_change(aws: Aws, topic: str, decision: Decision) -> None:
    """A change made behind the stack's back: an event, told once, to the user's owner (else the operator)."""
    report = decision.report
    lines = [
        f"- {notices.condition_line(_as_condition(w), datetime.now(UTC), cleared=False)[2:]}" for w in report.warnings
    ]
    lines += [notices.action_line(a) for a in report.actions if a.status is not ActionStatus.PLANNED]
    change = report.change or {}
    subject = notices.plain_subject(
        f"{notices.SUBJECT_PREFIX}: change outside the stack: {change.get('kind', 'change')} on "
        f"user {change.get('user_name') or '?'}"
    )
    body = notices.fit(
        [
            "A change to IAM was made outside the IAM key lifecycle stack"
            + (f" in account {report.account_id}." if report.account_id else "."),
            f"For: {decision.owner}, who owns the user." if decision.owner else "For: the operator.",
            "",
        ],
        [("What happened", lines), ("Run errors (for the operator)", [f"- {e}" for e in report.errors])],
        [
            "",
            "If you made this change on purpose, nothing else is needed; if not, find who did in CloudTrail.",
            "The event's full detail is in the function's logs and on the EventBridge bus (source iam-key-lifecycle).",
        ],
    )
    try:
        aws.notifier.publish(topic, subject=subject, message=body, owner=decision.owner, kind=notices.KIND_OUT_OF_BAND)
    except AwsError as exc:
        report.errors.append(f"notification not sent: {exc}")
        logger.error("notification not sent", extra={"error": str(exc)})


def _as_condition(warning: Warning) -> notices.Condition:
    return notices.Condition(
        id="",
        code=warning.code.removeprefix(CHANGE_CODE_PREFIX),
        user_name=warning.user_name,
        access_key_id=warning.access_key_id,
        owner=None,
        message=warning.message,
        opened_at="",
    )


def forewarning_message(owner: str | None, warnings: list[Forewarning]) -> tuple[str, str]:
    """Subject and body of one owner's forewarnings: what will happen, to which user and key, when, what to do."""
    if len(warnings) == 1:
        w = warnings[0]
        subject = f"{notices.SUBJECT_PREFIX}: coming on {format_timestamp(w.due)[:10]}: {w.event} of user {w.user_name}"
    else:
        subject = f"{notices.SUBJECT_PREFIX}: {len(warnings)} upcoming changes for {owner or 'the operator'}"
    items = []
    for w in sorted(warnings, key=lambda w: (w.due, w.user_name)):
        key = f", key {w.access_key_id}" if w.access_key_id else ""
        items.append(
            f"- user {w.user_name}{key}: on or after {format_timestamp(w.due)} "
            f"(in {w.window_days} day{'s' if w.window_days != 1 else ''} at most) "
            f"{FOREWARN_TEXT.get(str(w.event), str(w.event))}. Why: {w.message}."
        )
    body = notices.fit(
        [
            "The IAM key lifecycle will make these changes unless something changes first.",
            f"For: {owner}, who owns these users." if owner else "For: the operator (users without an owner tag).",
            "",
        ],
        [("Coming", items)],
        [
            "",
            "A key being retired: move its consumers to the user's current key (in the user's secret) before then.",
            notices.POSTPONE,
            "Each change is told once per warning window; the full detail is on the EventBridge bus.",
        ],
    )
    return notices.plain_subject(subject), body


FOREWARN_TEXT = {
    "user-expiry": "the user is deleted (it expires), with its keys and secret",
    "user-stale": "the user is deleted (no key used for a long time), with its keys and secret",
    "key-deactivation": "the replaced access key is deactivated",
    "key-deletion": "the deactivated access key is deleted",
}


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
                subject, body = forewarning_message(owner, warnings)
                aws.notifier.publish(
                    settings.notification_topic_arn,
                    subject=subject,
                    message=body,
                    owner=owner,
                    kind=notices.KIND_FOREWARNING,
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
