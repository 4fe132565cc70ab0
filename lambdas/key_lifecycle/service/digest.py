"""The operator's digest (`{"action": "digest"}`, daily or weekly by its schedule): what changed since the last
digest, every condition open now with its age, and the failures, in one message; then the changes told are
forgotten (a digest cut short before that tells them again next time, never loses them)."""

from __future__ import annotations

from datetime import datetime

from key_lifecycle.domain import notices
from key_lifecycle.gateways.conditions import ConditionStore, Stored
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.models.report import Report
from key_lifecycle.observability import logger
from key_lifecycle.service.context import Context, Decision


def run_digest(function: str, context: Context) -> Decision:
    settings, aws = context.settings, context.aws
    report = Report(function=function, dry_run=context.dry_run)
    if not settings.lock_table_name:
        report.errors.append("the digest needs the lock table, where the open conditions are kept")
        return Decision(report, notify=False)
    store = aws.conditions(settings.lock_table_name)
    loaded = {source: store.load(source) for source in notices.DIGEST_SOURCES}
    digest = digest_of(loaded)
    report.digest = {"counts": digest.counts(), "sent": False}
    if digest.empty() or context.dry_run or not settings.notification_topic_arn:
        # Nothing changed since the last digest: nothing is sent (the owners heard of their users as it happened).
        return Decision(report, notify=False)
    subject, body = notices.render_digest(digest, now=context.now, account_id=None)
    try:
        aws.notifier.publish(settings.notification_topic_arn, subject=subject, message=body, kind=notices.KIND_DIGEST)
    except AwsError as exc:
        report.errors.append(f"digest not sent: {exc}")
        logger.error("digest not sent", extra={"error": str(exc)})
        return Decision(report, notify=False)
    report.digest["sent"] = True
    _forget_told(store, loaded, report, context.now)
    return Decision(report, notify=False)


def digest_of(loaded: dict[str, Stored]) -> notices.Digest:
    """Every source's changes, and the open conditions (one per id: several schedules can hold the same one)."""
    open_now: dict[str, notices.Condition] = {}
    for stored in loaded.values():
        for cid, record in stored.records.items():
            condition = notices.Condition.from_record(cid, record)
            if cid not in open_now or condition.opened_at < open_now[cid].opened_at:
                open_now[cid] = condition
    return notices.Digest(
        log=[entry for stored in loaded.values() for entry in stored.log], open=list(open_now.values())
    )


def _forget_told(store: ConditionStore, loaded: dict[str, Stored], report: Report, now: datetime) -> None:
    for source, stored in loaded.items():
        if not stored.log:
            continue
        try:
            saved = store.save(source, Stored(stored.records, stored.version, []), now=now)
        except AwsError as exc:
            saved = False
            logger.error("digest entries not cleared", extra={"source": source, "error": str(exc)})
        if not saved:
            # A run of that source wrote in between: its entries (and those told now) come again next digest.
            report.errors.append(f"the changes of {source} were sent but not cleared; the next digest repeats them")
