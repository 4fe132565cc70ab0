"""What people are told, in plain language: a run's open conditions compared with the ones already notified (state,
not repetition), split per owner, and written as SNS subjects and bodies within SNS's limits. Pure: no I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from key_lifecycle.models.constants import (
    AUDIT_CODE_PREFIX,
    CHANGE_CODE_PREFIX,
    EXEMPT_UNTIL_TAG,
    FOREWARN_CODE_PREFIX,
    WarningCode,
)
from key_lifecycle.models.dates import as_utc, format_timestamp, parse_timestamp
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Warning

SUBJECT_MAX = 100  # SNS: at most 100 characters, ASCII printable, no line breaks
# SNS accepts 256 KiB per message including its attributes; the body stays well below, whatever the run holds.
MESSAGE_MAX_BYTES = 240_000
SUBJECT_PREFIX = "IAM keys"
# The `kind` attribute of each message (subscriptions filter on it, with `owner`).
KIND_RUN = "run"  # an owner's users: what was done, what opened, what cleared
KIND_AUDIT = "audit"  # an owner's users' posture findings, opened or cleared
KIND_OPERATOR = "operator"  # whatever has no owner (users without the tag, the account, run failures); no `owner`
KIND_OUT_OF_BAND = "out_of_band"
KIND_FOREWARNING = "forewarning"
KIND_DIGEST = "digest"
# The runs that report their conditions in full, each keeping its own record of them.
SOURCES = ("reconcile", "rotate", "cleanup", "audit")
# Manual requests record no conditions, only what they did, for the digest.
MANUAL = "manual"
DIGEST_SOURCES = (*SOURCES, MANUAL)
KINDS = (KIND_RUN, KIND_AUDIT, KIND_OPERATOR, KIND_OUT_OF_BAND, KIND_FOREWARNING, KIND_DIGEST)

# Warnings that are told as they happen (and never recorded as conditions): forewarnings have their own once-only
# record on the user, and a change detected behind the stack's back is an event, not a state.
_NOT_CONDITIONS = (FOREWARN_CODE_PREFIX, CHANGE_CODE_PREFIX)

POSTPONE = (
    f"To keep a user past its planned deletion, tag it {EXEMPT_UNTIL_TAG}=<ISO date> "
    f"(for example {EXEMPT_UNTIL_TAG}=2030-01-31T00:00:00Z); the cleanup skips it until then."
)

# What the owner (or the operator) should do about each condition, by code (without its audit: prefix).
ADVICE: dict[str, str] = {
    WarningCode.UNMANAGED_IN_PATH: (
        "tag the user managed-by=<the stack's tag value> and owner=<e-mail> so the stack manages it, "
        "or move it out of the managed path"
    ),
    WarningCode.DEACTIVATION_POSTPONED: (
        "move every consumer to the user's current key (read it from the user's secret); "
        "the old key is deactivated anyway at the maximum key age"
    ),
    WarningCode.HARD_CAP_DEACTIVATED: "move every consumer still using the old key to the current key in the secret",
    WarningCode.KEY_OVER_MAX_AGE: "nothing, unless it stays open: the next rotation replaces the key",
    WarningCode.KEY_WITHOUT_SECRET: "nothing: the stack deletes a key of its own that never reached the secret",
    WarningCode.TWO_KEYS_NO_SECRET: "delete the key nobody uses, then the stack stores a new one",
    WarningCode.NO_CURRENT_KEY: "nothing, unless it stays open: the next reconcile gives the user a verified key",
    WarningCode.CURRENT_KEY_INACTIVE: "re-activate the key or delete it; the next reconcile then gives a new one",
    WarningCode.BAD_EXPIRES_AT: "fix the expires-at tag (an ISO-8601 date such as 2030-01-31T00:00:00Z)",
    WarningCode.BAD_EXEMPT_UNTIL: f"fix the {EXEMPT_UNTIL_TAG} tag (an ISO-8601 date); the user is kept until then",
    WarningCode.BAD_CURRENT_SINCE: "remove the garbled current-since tag; the stack writes it again",
    WarningCode.BAD_DEACTIVATED_AT: "remove the garbled deactivated-at tag; the stack writes it again",
    WarningCode.USER_EXPIRED: "nothing: the next cleanup deletes the user; tag it exempt-until to keep it",
    WarningCode.LOCKED_BY_ANOTHER_RUN: "nothing: the next run carries the work out",
    WarningCode.TIME_BUDGET_EXHAUSTED: "nothing: the next run continues; if it stays open, raise the function timeout",
    WarningCode.VERIFICATION_PENDING: "nothing, unless it stays open: the next run verifies the key again",
    "root_access_key": "delete the root user's access keys (Security Hub IAM.4)",
    "unmanaged_key_over_90_days": "rotate or delete the key, or let the stack manage the user (IAM.3)",
    "credential_unused_90_days": "delete the unused key or password (IAM.8)",
    "credential_unused_45_days": "delete the unused key or password before it reaches 90 days (IAM.22)",
    "two_active_keys": "deactivate the key nobody uses",
    "direct_user_policy": "attach the policy to a group or role instead of the user (IAM.2)",
}

_ACTION_TEXT = {
    ActionKind.CREATE_USER: "user created",
    ActionKind.CREATE_KEY: "new access key created and stored in the user's secret",
    ActionKind.VERIFY_KEY: "access key verified and made current",
    ActionKind.DEACTIVATE_KEY: "access key deactivated",
    ActionKind.DELETE_KEY: "access key deleted",
    ActionKind.DELETE_USER: "user deleted with every credential it held",
    ActionKind.DELETE_SECRET: "the user's secret scheduled for deletion",
}


@dataclass(frozen=True)
class Condition:
    """A warning that stays true until something changes: open from the first run that sees it until one doesn't."""

    id: str
    code: str
    user_name: str | None
    access_key_id: str | None
    owner: str | None
    message: str
    opened_at: str  # ISO time of the run that first saw it

    def as_record(self) -> dict[str, str | None]:
        return {
            "code": self.code,
            "user_name": self.user_name,
            "access_key_id": self.access_key_id,
            "owner": self.owner,
            "message": self.message[:300],
            "opened_at": self.opened_at,
        }

    @classmethod
    def from_record(cls, condition_id: str, record: Mapping[str, str | None]) -> Condition:
        return cls(
            id=condition_id,
            code=str(record.get("code") or ""),
            user_name=record.get("user_name"),
            access_key_id=record.get("access_key_id"),
            owner=record.get("owner"),
            message=str(record.get("message") or ""),
            opened_at=str(record.get("opened_at") or ""),
        )


def condition_id(code: str, user_name: str | None, access_key_id: str | None) -> str:
    """Stable across runs: what, on whom, on which key (never the message, whose wording carries changing numbers)."""
    return f"{code}|{(user_name or '').lower()}|{access_key_id or ''}"


# Warnings that tell what a run just did (they come with its action, once): told with it, never held open.
EVENT_CODES = frozenset({WarningCode.HARD_CAP_DEACTIVATED.value})


def conditions_of(
    warnings: Iterable[Warning], owners: Mapping[str, str | None], now: datetime, *, events: bool = False
) -> dict[str, Condition]:
    """The run's warnings as conditions, by id (the same warning twice is one condition); with `events`, instead
    the warnings that come with an action (EVENT_CODES)."""
    found: dict[str, Condition] = {}
    for warning in warnings:
        if warning.code.startswith(_NOT_CONDITIONS) or (warning.code in EVENT_CODES) is not events:
            continue
        cid = condition_id(warning.code, warning.user_name, warning.access_key_id)
        if cid in found:
            continue
        owner = owners.get(warning.user_name.lower()) if warning.user_name else None
        found[cid] = Condition(
            id=cid,
            code=warning.code,
            user_name=warning.user_name,
            access_key_id=warning.access_key_id,
            owner=owner,
            message=warning.message,
            opened_at=format_timestamp(now),
        )
    return found


@dataclass
class Changes:
    opened: list[Condition] = field(default_factory=list)
    cleared: list[Condition] = field(default_factory=list)
    still_open: dict[str, Condition] = field(default_factory=dict)  # the new state: every condition open now


def compare(previous: Mapping[str, Condition], seen: Mapping[str, Condition]) -> Changes:
    """What opened (seen now, not before), what cleared (open before, not seen now), and the state to keep: an
    unchanged condition keeps the time it first opened."""
    changes = Changes()
    for cid, condition in seen.items():
        before = previous.get(cid)
        if before is None:
            changes.opened.append(condition)
            changes.still_open[cid] = condition
        else:
            # Same condition: the owner or wording may have changed; the time it opened stays.
            changes.still_open[cid] = Condition(**{**condition.__dict__, "opened_at": before.opened_at})
    for cid, condition in previous.items():
        if cid not in seen:
            changes.cleared.append(condition)
    return changes


# Messages ---------------------------------------------------------------------------------------------------------


@dataclass
class Notice:
    """One SNS message: for one owner (None: the operator), of one kind."""

    owner: str | None
    kind: str
    subject: str
    body: str
    condition_ids: list[str] = field(default_factory=list)  # recorded (opened or cleared) once this one is sent


@dataclass
class Audience:
    """What one owner (or the operator) is told about one run."""

    done: list[Action] = field(default_factory=list)
    failed: list[Action] = field(default_factory=list)
    opened: list[Condition] = field(default_factory=list)
    cleared: list[Condition] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def empty(self) -> bool:
        return not (self.done or self.failed or self.opened or self.cleared or self.errors)


def plain_subject(text: str) -> str:
    """SNS's subject rules: ASCII printable, no line breaks, at most 100 characters."""
    ascii_only = text.encode("ascii", "replace").decode()
    flat = re.sub(r"[^\x20-\x7e]+", " ", ascii_only).strip()
    return (flat[: SUBJECT_MAX - 3] + "...") if len(flat) > SUBJECT_MAX else flat


def short_code(code: str) -> str:
    return code.removeprefix(AUDIT_CODE_PREFIX)


def _age(opened_at: str, now: datetime) -> str:
    opened = parse_timestamp(opened_at)
    if opened is None:
        return "since an unknown time"
    days = (as_utc(now) - opened).days
    return f"open since {opened_at[:10]} ({days} day{'s' if days != 1 else ''})"


def _on(user_name: str | None, access_key_id: str | None) -> str:
    if user_name and access_key_id:
        return f"user {user_name}, key {access_key_id}"
    if user_name:
        return f"user {user_name}"
    return "the account"


def action_line(action: Action, *, dry_run: bool = False) -> str:
    what = _ACTION_TEXT.get(action.action, str(action.action))
    line = f"- {_on(action.user_name, action.access_key_id)}: {what}"
    if dry_run:
        line = f"- {_on(action.user_name, action.access_key_id)}: would be: {what}"
    line += f". Why: {action.reason}."
    if action.status is ActionStatus.FAILED:
        line = f"- {_on(action.user_name, action.access_key_id)}: {what} FAILED ({action.detail}). Why it was due: "
        line += f"{action.reason}. The next run tries again; if it keeps failing, the operator looks into it."
    return line


def condition_line(condition: Condition, now: datetime, *, cleared: bool) -> str:
    where = _on(condition.user_name, condition.access_key_id)
    if cleared:
        return f"- {where}: resolved: {short_code(condition.code)} ({_age(condition.opened_at, now)}). Nothing to do."
    advice = ADVICE.get(short_code(condition.code), "see the message; the operator can tell more")
    return f"- {where}: {condition.message}. What to do: {advice}."


def _subject(audience: Audience, who: str, source: str) -> str:
    parts = []
    if audience.done:
        parts.append(f"{len(audience.done)} change{'s' if len(audience.done) != 1 else ''} done")
    if audience.failed:
        parts.append(f"{len(audience.failed)} failed")
    if audience.opened:
        parts.append(f"{len(audience.opened)} new warning{'s' if len(audience.opened) != 1 else ''}")
    if audience.cleared:
        parts.append(f"{len(audience.cleared)} resolved")
    if audience.errors:
        parts.append(f"{len(audience.errors)} run error{'s' if len(audience.errors) != 1 else ''}")
    single = len(audience.done) + len(audience.failed) + len(audience.opened) + len(audience.cleared) == 1
    if single and not audience.errors:
        if audience.done or audience.failed:
            action = (audience.done or audience.failed)[0]
            state = "" if audience.done else " FAILED"
            text = f"{_ACTION_TEXT.get(action.action, str(action.action))}{state}"
            return plain_subject(f"{SUBJECT_PREFIX}: {_on(action.user_name, action.access_key_id)}: {text}")
        condition = (audience.opened or audience.cleared)[0]
        state = "new warning" if audience.opened else "resolved"
        return plain_subject(
            f"{SUBJECT_PREFIX}: {state}: {short_code(condition.code)} on {_on(condition.user_name, None)}"
        )
    return plain_subject(f"{SUBJECT_PREFIX} ({source}) for {who}: {', '.join(parts)}")


def _sections(audience: Audience, now: datetime, dry_run: bool) -> list[tuple[str, list[str]]]:
    return [
        ("Done", [action_line(a, dry_run=dry_run) for a in audience.done]),
        ("Failed", [action_line(a) for a in audience.failed]),
        (
            "New warnings (told once, not again while they last)",
            [condition_line(c, now, cleared=False) for c in audience.opened],
        ),
        ("Resolved", [condition_line(c, now, cleared=True) for c in audience.cleared]),
        ("Run errors (for the operator)", [f"- {e}" for e in audience.errors]),
    ]


def render(
    audience: Audience,
    *,
    owner: str | None,
    source: str,
    function: str,
    now: datetime,
    account_id: str | None,
    dry_run: bool = False,
) -> tuple[str, str]:
    """Subject and body of one owner's (or the operator's) message about one run, within SNS's limits."""
    who = owner or "the operator"
    subject = _subject(audience, who, source)
    account = f" in account {account_id}" if account_id else ""
    head = [
        f"The IAM key lifecycle's {source} run ({function}) at {format_timestamp(now)}{account}.",
        f"For: {owner}, about the users you own."
        if owner
        else "For: the operator (users without an owner tag, the account itself, and run errors).",
        "",
    ]
    foot = [
        "",
        POSTPONE,
        "The full JSON report is in the function's logs and in the EventBridge events (source iam-key-lifecycle).",
    ]
    return subject, fit(head, _sections(audience, now, dry_run), foot)


def fit(head: Sequence[str], sections: Sequence[tuple[str, list[str]]], foot: Sequence[str]) -> str:
    """The body, whole when it fits in MESSAGE_MAX_BYTES; otherwise each section is cut with a count of the rest."""
    budget = MESSAGE_MAX_BYTES - len("\n".join([*head, *foot]).encode()) - 64 * (len(sections) + 1)
    lines: list[str] = list(head)
    for title, items in sections:
        if not items:
            continue
        lines.append(f"{title}:")
        for index, item in enumerate(items):
            size = len(item.encode()) + 1
            if size > budget:
                lines.append(f"- ... and {len(items) - index} more (the full list is in the function's logs)")
                break
            lines.append(item)
            budget -= size
        lines.append("")
    while lines and not lines[-1] and foot and not foot[0]:
        lines.pop()
    lines.extend(foot)
    return "\n".join(lines)


# The operator's digest ------------------------------------------------------------------------------------------


@dataclass
class Digest:
    """What the digest tells: each source's changes since the last digest, and every condition open now."""

    log: list[dict[str, str | int | None]] = field(default_factory=list)  # opened / cleared / run entries
    open: list[Condition] = field(default_factory=list)

    def empty(self) -> bool:
        return not self.log

    def counts(self) -> dict[str, int]:
        runs = [e for e in self.log if e.get("change") == "run"]
        return {
            "opened": sum(1 for e in self.log if e.get("change") == "opened"),
            "cleared": sum(1 for e in self.log if e.get("change") == "cleared"),
            "actions_done": sum(int(e.get("done") or 0) for e in runs),
            "actions_failed": sum(int(e.get("failed") or 0) for e in runs),
            "runs_with_errors": sum(1 for e in runs if e.get("errors")),
            "open": len(self.open),
        }


def render_digest(digest: Digest, *, now: datetime, account_id: str | None) -> tuple[str, str]:
    """The operator's digest: counts, what changed, open conditions with their age, failures."""
    c = digest.counts()
    subject = plain_subject(
        f"{SUBJECT_PREFIX} digest: {c['actions_done']} done, {c['actions_failed']} failed, "
        f"{c['opened']} new, {c['cleared']} resolved, {c['open']} open"
    )
    changed = []
    for entry in sorted(digest.log, key=lambda e: str(e.get("at"))):
        when = str(entry.get("at") or "")[:16].replace("T", " ")
        if entry.get("change") in ("opened", "cleared"):
            verb = "new" if entry["change"] == "opened" else "resolved"
            owner = f" (owner {entry['owner']})" if entry.get("owner") else ""
            where = _on(_text(entry.get("user_name")), _text(entry.get("access_key_id")))
            changed.append(f"- {when} {verb}: {short_code(str(entry.get('code')))} on {where}{owner}")
    failures = [
        f"- {str(e.get('at') or '')[:16].replace('T', ' ')} {e.get('function')}: {e.get('failed')} failed action(s), "
        f"{e.get('errors')} run error(s) (see the function's logs)"
        for e in digest.log
        if e.get("change") == "run" and (e.get("failed") or e.get("errors"))
    ]
    open_now = [
        f"- {short_code(c.code)} on {_on(c.user_name, c.access_key_id)}"
        f"{f' (owner {c.owner})' if c.owner else ''}: {_age(c.opened_at, now)}"
        for c in sorted(digest.open, key=lambda c: (c.opened_at, c.id))
    ]
    head = [
        f"The IAM key lifecycle's digest at {format_timestamp(now)}"
        + (f" for account {account_id}." if account_id else "."),
        f"Since the last digest: {c['actions_done']} action{'s' if c['actions_done'] != 1 else ''} done, "
        f"{c['actions_failed']} failed, "
        f"{c['runs_with_errors']} runs with errors; {c['opened']} warning{'s' if c['opened'] != 1 else ''} "
        f"opened, {c['cleared']} resolved. "
        f"Open now: {c['open']}.",
        "",
    ]
    foot = ["", "Owners were told of their own users as it happened; this digest is for the operator."]
    return subject, fit(head, [("Failures", failures), ("What changed", changed), ("Open now", open_now)], foot)


def _text(value: object) -> str | None:
    return None if value is None else str(value)
