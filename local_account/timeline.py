"""What a demo run did, as data and text: timeline rows, key lives, the summary, the terminal timeline and
`report.json` (the picture, `timeline.png`, is drawn by `timeline_png`).

Everything here is built from the functions' own reports (Invocation records), never from secret values.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

DONE = "done"
FAILED = "failed"
WARNING = "warning"
ERROR = "error"

# Warning codes of the rotate function are free text for the report's reader; these substrings say
# "the replaced key is still in use, deactivation waits" whatever the exact code is.
POSTPONE_MARKERS = ("postpone",)


class InvocationRecord(Protocol):
    """The fields of `local_account.Invocation` this module reads."""

    time: datetime
    function: str
    source: str
    event: Any
    result: Any
    duration_s: float
    log_lines: list[str]


@dataclass(frozen=True)
class TimelineRow:
    """One line of the timeline: an action a function applied (or failed), a warning, or a run error."""

    day: int
    time: datetime
    function: str
    source: str
    user_name: str | None
    action: str  # the ActionKind value, or the warning code, or "error"
    access_key_id: str | None
    reason: str
    status: str  # done | failed | warning | error
    repeats: int = 1  # a warning that consecutive runs repeat is shown once, with how often and until when
    last_day: int | None = None
    # Rows of one virtual moment in the order things happened: 2 * invocation index + 1 for a function's rows,
    # 2 * (invocations before it) for a row of the story, so merged sources interleave as they ran.
    order: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = _iso(self.time)
        return data


@dataclass
class KeySpan:
    """The life of one access key on the picture: created, maybe deactivated, deleted (or still alive at the end)."""

    user_name: str
    access_key_id: str
    created: datetime
    managed: bool = True
    rotation: bool = False  # created while the user had another live key: a replacement
    postponed_from: datetime | None = None  # first run that left it active because it was still in use
    deactivated: datetime | None = None
    deleted: datetime | None = None
    user_deleted: datetime | None = None  # the key went with its user
    user_deleted_reason: str | None = None

    @property
    def ended(self) -> datetime | None:
        return self.deleted or self.user_deleted

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_name": self.user_name,
            "access_key_id": self.access_key_id,
            "managed": self.managed,
            "rotation": self.rotation,
            "created": _iso(self.created),
            "postponed_from": _iso(self.postponed_from),
            "deactivated": _iso(self.deactivated),
            "deleted": _iso(self.deleted),
            "user_deleted": _iso(self.user_deleted),
            "user_deleted_reason": self.user_deleted_reason,
        }


@dataclass
class Invariant:
    """A property checked throughout the run; any failure makes the demo exit non-zero."""

    name: str
    description: str
    checks: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def check(self, condition: bool, failure: str) -> bool:
        self.checks += 1
        if not condition:
            self.failures.append(failure)
        return condition

    def as_dict(self) -> dict[str, Any]:
        # A long run can break the same way every day: the first failures tell the story.
        return {
            "name": self.name,
            "description": self.description,
            "ok": self.ok,
            "checks": self.checks,
            "failure_count": len(self.failures),
            "failures": self.failures[:50],
        }


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    return utc(value).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def day_number(time: datetime, start: datetime) -> int:
    """Calendar days (UTC) since the start: the day a reader finds next to the date."""
    return (utc(time).date() - utc(start).date()).days


def _result(invocation: InvocationRecord) -> Mapping[str, Any]:
    # A refused payload or a crashed run may return something other than a report: show it, do not crash on it.
    return invocation.result if isinstance(invocation.result, Mapping) else {}


def shorten(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def is_postponement(code: str) -> bool:
    return any(marker in code.lower() for marker in POSTPONE_MARKERS)


def timeline_rows(invocations: Iterable[InvocationRecord], start: datetime) -> list[TimelineRow]:
    """Every applied action; every warning, failed action and run error once per unbroken streak of runs of its
    series (the same thing said by every run is one row, with how often and until when)."""
    rows: list[TimelineRow] = []
    # (series, what was said) -> index of the streak's row, and the run of the series that last said it
    streaks: dict[tuple[Any, ...], tuple[int, int]] = {}
    runs_of_series: Counter[tuple[str, str]] = Counter()

    def add(row: TimelineRow, same_as: Any, *, series: tuple[str, str], run: int, said: Counter[Any]) -> None:
        """`same_as` names what makes a later run's row a repeat of this one (None: never a repeat)."""
        identity: tuple[Any, ...] = (series, row.user_name, row.action, row.access_key_id, row.status, same_as)
        # One run may say the same thing twice (e.g. two unused credentials of one user): the n-th saying of a
        # run repeats the n-th saying of the run before.
        said[identity] += 1
        identity += (said[identity],)
        repeatable = same_as is not None
        previous = streaks.get(identity) if repeatable else None
        if previous is not None and previous[1] == run - 1:
            at = previous[0]
            rows[at] = replace(rows[at], repeats=rows[at].repeats + 1, last_day=row.day)
            streaks[identity] = (at, run)
            return
        rows.append(row)
        if repeatable:
            streaks[identity] = (len(rows) - 1, run)

    for position, invocation in enumerate(sorted(invocations, key=lambda inv: utc(inv.time))):
        result = _result(invocation)
        series = _series(invocation)
        run = runs_of_series[series]
        runs_of_series[series] += 1
        row = partial(_row, invocation, day_number(invocation.time, start), 2 * position + 1)
        said = partial(add, series=series, run=run, said=Counter())
        for action in result.get("actions") or []:
            status = str(action.get("status", ""))
            if status not in (DONE, FAILED):
                continue
            reason = str(action.get("reason") or "")
            if status == FAILED and action.get("detail"):
                reason = f"{reason} — {action['detail']}"
            key = action.get("access_key_id") or _key_from_report(action, result)
            # A failure repeats when it fails the same way; the reason's day counts change from run to run.
            repeat = ("failed", action.get("detail")) if status == FAILED else None
            said(row(action.get("user_name"), str(action.get("action")), key, reason, status), repeat)
        for warning in result.get("warnings") or []:
            # A warning repeats when its code is the same for the same user and key; its message carries dates.
            code, message = str(warning.get("code", "warning")), str(warning.get("message", ""))
            said(row(warning.get("user_name"), code, warning.get("access_key_id"), message, WARNING), "warning")
        errors = [str(error) for error in result.get("errors") or []]
        crash = _crash(invocation)
        for error in [*errors, *([crash] if crash else [])]:
            said(row(None, ERROR, None, error, ERROR), error)
    return rows


def _series(invocation: InvocationRecord) -> tuple[str, str]:
    """Runs that repeat one another: a function on one schedule (a weekly audit is not interleaved with the
    daily reconcile of the same function), or manual runs with the same event."""
    schedule = getattr(invocation, "schedule", None)
    return invocation.function, schedule or json.dumps(invocation.event, sort_keys=True, default=str)


def _crash(invocation: InvocationRecord) -> str | None:
    """Why a run returned no report: the handler raised, timed out, or returned something else."""
    result = invocation.result
    if isinstance(result, Mapping) and "errorType" in result:
        return f"{result['errorType']}: {result.get('errorMessage', '')}"
    if not isinstance(result, Mapping):
        return f"returned {type(result).__name__}, not a report"
    error = getattr(invocation, "error", None)
    return str(error) if error else None


def _row(
    invocation: InvocationRecord, day: int, order: int, user_name: Any, action: str, key: Any, reason: str, status: str
) -> TimelineRow:
    inv = invocation
    return TimelineRow(day, inv.time, inv.function, inv.source, user_name, action, key, reason, status, order=order)


def _key_from_report(action: Mapping[str, Any], result: Mapping[str, Any]) -> str | None:
    # A create_user run reports its new key at the top level; its create_key action may have been planned without one.
    if action.get("action") == "create_key" and result.get("access_key_id"):
        return str(result["access_key_id"])
    return None


def key_spans(invocations: Iterable[InvocationRecord]) -> list[KeySpan]:
    """The life of every key the functions created, from their applied actions, in order of creation."""
    spans: dict[str, KeySpan] = {}
    for invocation in sorted(invocations, key=lambda inv: utc(inv.time)):
        result = _result(invocation)
        when = utc(invocation.time)
        for action in result.get("actions") or []:
            if action.get("status") != DONE:
                continue
            kind = action.get("action")
            user = action.get("user_name")
            key_id = action.get("access_key_id") or _key_from_report(action, result)
            if kind == "create_key" and key_id and key_id not in spans:
                live = [s for s in spans.values() if s.user_name == user and s.ended is None]
                spans[key_id] = KeySpan(user_name=user, access_key_id=key_id, created=when, rotation=bool(live))
            elif kind == "deactivate_key" and key_id in spans and spans[key_id].deactivated is None:
                spans[key_id].deactivated = when
            elif kind == "delete_key" and key_id in spans and spans[key_id].ended is None:
                spans[key_id].deleted = when
            elif kind == "delete_user":
                for span in spans.values():
                    if span.user_name == user and span.ended is None:
                        span.user_deleted = when
                        span.user_deleted_reason = str(action.get("reason") or "") or None
        for warning in result.get("warnings") or []:
            key_id = warning.get("access_key_id")
            if key_id in spans and is_postponement(str(warning.get("code", ""))):
                span = spans[key_id]
                if span.postponed_from is None and span.deactivated is None:
                    span.postponed_from = when
    return list(spans.values())


def summarize(
    invocations: Sequence[InvocationRecord],
    rows: Sequence[TimelineRow],
    spans: Sequence[KeySpan],
    invariants: Sequence[Invariant],
    *,
    start: datetime,
    end: datetime,
    wall_time_s: float,
    deploy_time_s: float | None = None,
) -> dict[str, Any]:
    """Counts a reader wants after the timeline: what was done, to whom, how often, and whether it stayed safe."""
    done = Counter(row.action for row in rows if row.status == DONE)
    warnings: Counter[str] = Counter()
    for row in rows:
        if row.status == WARNING:
            warnings[row.action] += row.repeats
    managed = [span for span in spans if span.managed]
    hard_capped = [s for s in managed if s.postponed_from is not None and s.deactivated is not None]
    return {
        "start": _iso(start),
        "end": _iso(end),
        "days": day_number(end, start),
        "invocations": len(invocations),
        "invocations_by_function": dict(sorted(Counter(inv.function for inv in invocations).items())),
        "invocations_by_source": dict(sorted(Counter(inv.source for inv in invocations).items())),
        "function_time_s": round(sum(inv.duration_s for inv in invocations), 2),
        "cold_starts": sum(1 for inv in invocations if getattr(inv, "cold_start", True)),
        "wall_time_s": round(wall_time_s, 1),
        "deploy_time_s": None if deploy_time_s is None else round(deploy_time_s, 1),
        "actions_done": dict(sorted(done.items())),
        "actions_failed": sum(1 for row in rows if row.status == FAILED),
        "errors": sum(1 for row in rows if row.status == ERROR),
        "warnings": dict(sorted(warnings.items())),
        "users_created": sorted({row.user_name for row in rows if row.status == DONE and row.action == "create_user"}),
        "users_deleted": sorted({row.user_name for row in rows if row.status == DONE and row.action == "delete_user"}),
        "keys_created": len(managed),
        "rotations": sum(1 for span in managed if span.rotation),
        "postponements": sum(count for code, count in warnings.items() if is_postponement(code)),
        "keys_postponed": sum(1 for span in managed if span.postponed_from is not None),
        "deactivated_after_postponement": len(hard_capped),
        "invariants_ok": all(invariant.ok for invariant in invariants),
    }


_ACTION_LABELS = {
    "create_user": "create user",
    "create_key": "create key",
    "verify_key": "verify key",
    "deactivate_key": "deactivate key",
    "delete_key": "delete key",
    "delete_user": "delete user",
    "delete_secret": "delete secret",
}


def format_timeline(rows: Sequence[TimelineRow], *, reason_width: int = 64) -> str:
    """One line per row: day, date, function, user, action, key id, short reason; warnings marked `!`."""
    widths = {"function": 16, "user": 20, "action": 30}
    header = (
        f"{'day':>4}  {'date':<10}  {'function':<{widths['function']}}  {'user':<{widths['user']}}  "
        f"  {'action':<{widths['action']}}  {'key':<20}  reason"
    )
    lines = [header]
    for row in rows:
        mark = {WARNING: "!", FAILED: "✗", ERROR: "✗"}.get(row.status, " ")
        action = _ACTION_LABELS.get(row.action, row.action)
        if row.status == FAILED:
            action += " FAILED"
        reason = row.reason
        if row.repeats > 1:
            reason = f"[{row.repeats} runs in a row, to day {row.last_day}] {reason}"
        if row.source == "manual":
            reason = f"[manual] {reason}"
        function, user = shorten(row.function, widths["function"]), shorten(row.user_name or "-", widths["user"])
        lines.append(
            f"{row.day:>4}  {utc(row.time):%Y-%m-%d}  {function:<{widths['function']}}  {user:<{widths['user']}}  "
            f"{mark:1} {shorten(action, widths['action']):<{widths['action']}}  {row.access_key_id or '-':<20}  "
            f"{shorten(reason, reason_width)}"
        )
    return "\n".join(lines)


def format_summary(summary: Mapping[str, Any], invariants: Sequence[Invariant]) -> str:
    def counts(values: Mapping[str, int]) -> str:
        return ", ".join(f"{key} {value}" for key, value in values.items()) or "none"

    deploy = f" (deploy {summary['deploy_time_s']} s)" if summary.get("deploy_time_s") is not None else ""
    lines = [
        f"Simulated {summary['days']} days ({summary['start'][:10]} → {summary['end'][:10]}) in "
        f"{summary['wall_time_s']} s wall time{deploy}; {summary['invocations']} invocations "
        f"({counts(summary['invocations_by_function'])}; {counts(summary['invocations_by_source'])}), "
        f"{summary['function_time_s']} s inside the functions; {summary['cold_starts']} cold starts.",
        f"Actions done: {counts(summary['actions_done'])}. Failed actions: {summary['actions_failed']}. "
        f"Run errors: {summary['errors']}.",
        f"Users created: {', '.join(summary['users_created']) or 'none'}.",
        f"Users deleted: {', '.join(summary['users_deleted']) or 'none'}.",
        f"Keys created: {summary['keys_created']}, of which rotations: {summary['rotations']}. "
        f"Deactivations postponed (old key still in use): {summary['postponements']} runs over "
        f"{summary['keys_postponed']} keys; deactivated after postponement: "
        f"{summary['deactivated_after_postponement']}.",
        f"Warnings: {counts(summary['warnings'])}.",
        *_notification_lines(summary.get("notifications")),
        "Invariants:",
    ]
    for invariant in invariants:
        status = "OK  " if invariant.ok else "FAIL"
        lines.append(f"  {status} {invariant.description} ({invariant.checks} checks)")
        lines.extend(f"       - {failure}" for failure in invariant.failures[:10])
        if len(invariant.failures) > 10:
            lines.append(f"       … and {len(invariant.failures) - 10} more")
    return "\n".join(lines)


def _notification_lines(sent: Mapping[str, Any] | None) -> list[str]:
    if not sent:
        return []
    owners = ", ".join(f"{owner} {count}" for owner, count in sent["by_owner"].items()) or "none"
    kinds = ", ".join(f"{kind} {count}" for kind, count in sent["by_kind"].items()) or "none"
    return [f"Notifications sent: {sent['total']} (by owner: {owners}; by kind: {kinds})."]


def report_json(
    *,
    summary: Mapping[str, Any],
    rows: Sequence[TimelineRow],
    spans: Sequence[KeySpan],
    invariants: Sequence[Invariant],
    inventory: Any,
) -> str:
    """`report.json`: summary, invariants, timeline rows, key lives and the final inventory (ids, dates, stages)."""
    document = {
        "summary": dict(summary),
        "invariants": [invariant.as_dict() for invariant in invariants],
        "timeline": [row.as_dict() for row in rows],
        "keys": [span.as_dict() for span in spans],
        "inventory": inventory,
    }
    return json.dumps(document, indent=2, default=str) + "\n"


def merge_rows(*groups: Iterable[TimelineRow]) -> list[TimelineRow]:
    """One timeline from several sources, in time order, and within a moment in the order things happened."""
    merged = [row for group in groups for row in group]
    return sorted(merged, key=lambda row: (utc(row.time), row.order))  # stable: equal keys keep their order


def find_secrets(secrets: Iterable[str], texts: Mapping[str, str]) -> list[str]:
    """Where any of the secret values occurs among the named texts; the answer names the place, never the secret."""
    wanted = [secret for secret in set(secrets) if secret]
    return [place for place, text in texts.items() if any(secret in text for secret in wanted)]


def redact(text: str, secrets: Iterable[str]) -> str:
    """The text with every secret replaced, so a leak found is reported without being written anywhere."""
    for secret in sorted((s for s in set(secrets) if s), key=len, reverse=True):
        text = text.replace(secret, "<redacted secret>")
    return text


def invocation_texts(invocations: Iterable[InvocationRecord]) -> dict[str, str]:
    """Every log line and result of the run as searchable text, named for the invocation it came from."""
    texts = {}
    for index, invocation in enumerate(invocations):
        name = f"invocation {index} ({invocation.function} at {_iso(invocation.time)})"
        texts[f"{name} result"] = json.dumps(invocation.result, default=str)
        texts[f"{name} event"] = json.dumps(invocation.event, default=str)
        texts[f"{name} logs"] = "\n".join(str(line) for line in invocation.log_lines)
    return texts
