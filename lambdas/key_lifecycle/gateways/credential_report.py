"""The IAM credential report: every user's access keys (status, creation, last use) in one document, by slot
and without key ids. It can be up to 4 hours old, so it only tells a run where to look, never what to do."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call

# IAM regenerates a report only when asked and the last one is older than this.
REPORT_MAX_AGE = timedelta(hours=4)
# How long a run waits for IAM to finish generating a report before it reads the users one by one instead.
GENERATION_TIMEOUT_SECONDS = 20.0
FIRST_POLL_SECONDS = 1.0
# What GetCredentialReport answers while no usable report exists (the run then reads users one by one).
NO_REPORT_CODES = frozenset({"ReportNotPresent", "ReportExpired", "ReportInProgress"})


@dataclass(frozen=True)
class ReportedKey:
    """One access key slot of a report row: no key id, only what the key looked like when the report was made."""

    active: bool
    created: datetime  # access_key_N_last_rotated: the key's creation time, to the second
    last_used: datetime | None


@dataclass(frozen=True)
class ReportRow:
    user_name: str
    arn: str
    keys: tuple[ReportedKey, ...]


@dataclass(frozen=True)
class CredentialReport:
    generated: datetime
    rows: dict[str, ReportRow]  # by user name


def _timestamp(value: str | None) -> datetime | None:
    if not value or value in {"N/A", "no_information", "not_supported"}:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_report(content: bytes | str, generated: datetime) -> CredentialReport:
    """The CSV as rows by user name. A slot without a creation time holds no key; a slot that cannot be read
    makes its row's keys unknown, which callers treat like a missing row (read the user directly)."""
    text = content.decode() if isinstance(content, bytes) else content
    rows: dict[str, ReportRow] = {}
    for record in csv.DictReader(io.StringIO(text)):
        name = record.get("user") or ""
        if not name or name == "<root_account>":
            continue
        keys: list[ReportedKey] = []
        readable = True
        for slot in ("access_key_1", "access_key_2"):
            raw_created = record.get(f"{slot}_last_rotated")
            created = _timestamp(raw_created)
            if created is None:
                if raw_created not in (None, "", "N/A"):
                    readable = False
                continue
            keys.append(
                ReportedKey(
                    active=(record.get(f"{slot}_active") or "").lower() == "true",
                    created=created,
                    last_used=_timestamp(record.get(f"{slot}_last_used_date")),
                )
            )
        if readable:
            rows[name] = ReportRow(user_name=name, arn=record.get("arn") or "", keys=tuple(keys))
    when = generated.replace(tzinfo=UTC) if generated.tzinfo is None else generated.astimezone(UTC)
    return CredentialReport(generated=when, rows=rows)


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
