"""The one reader of the IAM credential report: a recent report or a new one, parsed. It can be up to 4 hours old,
so it only tells a run where to look, never what to do; the posture audit reports from it."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call
from key_lifecycle.models.credential_report import CredentialReport, CredentialRow, KeySlot

# IAM regenerates a report only when asked and the last one is older than this.
REPORT_MAX_AGE = timedelta(hours=4)
# How long a run waits for IAM to finish generating a report before it reads the users one by one instead.
GENERATION_TIMEOUT_SECONDS = 20.0
FIRST_POLL_SECONDS = 1.0
# What GetCredentialReport answers while no usable report exists (the run then reads users one by one).
NO_REPORT_CODES = frozenset({"ReportNotPresent", "ReportExpired", "ReportInProgress"})


def _timestamp(value: str | None) -> datetime | None:
    if not value or value in {"N/A", "no_information", "not_supported"}:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_report(content: bytes | str, generated: datetime) -> CredentialReport:
    """The CSV as rows, the root row included. A slot without a creation time holds no key; a slot whose creation
    time cannot be read makes its row unreadable, which the lifecycle treats like a missing row (it reads the user
    directly). Unknown or missing columns read as "no information"."""
    text = content.decode() if isinstance(content, bytes) else content
    rows: list[CredentialRow] = []
    for record in csv.DictReader(io.StringIO(text)):
        name = record.get("user") or ""
        if not name:
            continue
        keys: list[KeySlot] = []
        readable = True
        for slot in (1, 2):
            raw_created = record.get(f"access_key_{slot}_last_rotated")
            created = _timestamp(raw_created)
            if created is None and raw_created not in (None, "", "N/A"):
                readable = False
            keys.append(
                KeySlot(
                    slot=slot,
                    active=(record.get(f"access_key_{slot}_active") or "").lower() == "true",
                    last_rotated=created,
                    last_used=_timestamp(record.get(f"access_key_{slot}_last_used_date")),
                )
            )
        rows.append(
            CredentialRow(
                user=name,
                arn=record.get("arn") or "",
                created=_timestamp(record.get("user_creation_time")),
                password_enabled=(record.get("password_enabled") or "").lower() == "true",
                password_last_used=_timestamp(record.get("password_last_used")),
                password_last_changed=_timestamp(record.get("password_last_changed")),
                keys=tuple(keys),
                readable=readable,
            )
        )
    when = generated.replace(tzinfo=UTC) if generated.tzinfo is None else generated.astimezone(UTC)
    return CredentialReport(generated=when, rows=tuple(rows))


def fetch_report(
    client: Any,
    now: datetime,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    timeout: float = GENERATION_TIMEOUT_SECONDS,
) -> CredentialReport | None:
    """The current report (one call while IAM's last report is under 4 hours old), else a new one generated
    and waited for. None when IAM does not have one ready in time: the caller falls back to per-user reads."""
    report = _get(client)
    if report is not None and now - report.generated < REPORT_MAX_AGE:
        return report
    deadline = clock() + timeout
    delay = FIRST_POLL_SECONDS
    while call(client, "GenerateCredentialReport").get("State") != "COMPLETE":
        remaining = deadline - clock()
        if remaining <= 0:
            return None
        sleep(min(delay, remaining))
        delay *= 2
    return _get(client)


def _get(client: Any) -> CredentialReport | None:
    try:
        response = call(client, "GetCredentialReport")
    except AwsError as exc:
        if exc.code in NO_REPORT_CODES:
            return None
        raise
    return parse_report(response["Content"], response["GeneratedTime"])
