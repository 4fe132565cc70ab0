"""The account posture audit: root keys, old unmanaged keys, unused credentials, two active keys, direct policies.

Pure logic over the IAM credential report and the users' details; it reports and never changes anything.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from key_lifecycle.models.credential_report import ROOT_ROW, CredentialRow
from key_lifecycle.models.dates import as_utc, format_timestamp, whole_days
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import UserState

OLD_KEY_DAYS = 90  # Security Hub IAM.3
UNUSED_WARN_DAYS = 45  # Security Hub IAM.22
UNUSED_DAYS = 90  # Security Hub IAM.8

# Finding code → (Security Hub control, severity). Codes are also the audit's metric names' source.
FINDINGS: dict[str, tuple[str, str]] = {
    "root_access_key": ("IAM.4", "critical"),
    "unmanaged_key_over_90_days": ("IAM.3", "medium"),
    "credential_unused_90_days": ("IAM.8", "medium"),
    "credential_unused_45_days": ("IAM.22", "medium"),
    "two_active_keys": ("-", "low"),
    "direct_user_policy": ("IAM.2", "low"),
}


@dataclass(frozen=True)
class UserPolicies:
    attached: tuple[str, ...] = ()
    inline: tuple[str, ...] = ()


@dataclass(frozen=True)
class Finding:
    code: str
    control: str
    severity: str
    message: str
    user_name: str | None = None
    managed: bool = False
    key_slot: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "control": self.control,
            "severity": self.severity,
            "user_name": self.user_name,
            "managed": self.managed,
            "key_slot": self.key_slot,
            "message": self.message,
        }


@dataclass
class AuditResult:
    findings: list[Finding] = field(default_factory=list)
    users: int = 0
    managed_users: int = 0
    active_keys: int = 0

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(f.code for f in self.findings)
        return {code: counted.get(code, 0) for code in FINDINGS}

    def as_dict(self) -> dict[str, Any]:
        return {
            "users": self.users,
            "managed_users": self.managed_users,
            "active_keys": self.active_keys,
            "counts": self.counts,
            "findings": [f.as_dict() for f in self.findings],
        }


def audit_account(
    rows: Sequence[CredentialRow],
    users: list[UserState],
    policies: dict[str, UserPolicies],
    *,
    root_keys_present: bool,
    now: datetime,
    settings: Settings,
) -> AuditResult:
    """Every finding of the account at `now`. `root_keys_present` comes from GetAccountSummary, which counts root
    keys even where the credential report leaves the root row out."""
    now = as_utc(now)
    result = AuditResult()
    by_name = {user.user_name: user for user in users}

    def find(code: str, message: str, user: str | None = None, managed: bool = False, slot: int | None = None) -> None:
        control, severity = FINDINGS[code]
        result.findings.append(Finding(code, control, severity, message, user, managed, slot))

    root = next((row for row in rows if row.user == ROOT_ROW), None)
    root_active = [key.slot for key in root.keys if key.active] if root is not None else []
    if root_keys_present or root_active:
        find(
            "root_access_key",
            "the account root user has an access key; delete it (root keys cannot be scoped or rotated safely)",
        )

    for row in sorted((r for r in rows if r.user != ROOT_ROW), key=lambda r: r.user.lower()):
        user = by_name.get(row.user)
        managed = user is not None and is_managed(user, settings)
        name = row.user
        active = [key for key in row.keys if key.active]
        result.users += 1
        result.managed_users += int(managed)
        result.active_keys += len(active)
        for key in active:
            created = key.last_rotated or row.created
            if not managed and created is not None and now - created > timedelta(days=OLD_KEY_DAYS):
                find(
                    "unmanaged_key_over_90_days",
                    f"access key {key.slot} of user {name} (not managed by this stack) is "
                    f"{whole_days(created, now)} days old (created {format_timestamp(created)}); rotate it",
                    name,
                    managed,
                    key.slot,
                )
            _unused(find, f"access key {key.slot}", key.last_used, created, now, name, managed, key.slot)
        if row.password_enabled:
            since = row.password_last_changed or row.created
            _unused(find, "console password", row.password_last_used, since, now, name, managed, None)
        # A managed user holds two active keys only while the key it replaced is in its grace, which is the stack's
        # own rotation, not a posture problem; were they left so, the rotation itself warns (two_active_keys).
        if len(active) >= 2 and not managed:
            find(
                "two_active_keys",
                f"user {name} has two active access keys; a user needs one, the other is a spare risk",
                name,
                managed,
            )

    for user in sorted(users, key=lambda u: u.user_name.lower()):
        attached = policies.get(user.user_name, UserPolicies())
        names = [*attached.attached, *attached.inline]
        if names:
            find(
                "direct_user_policy",
                f"user {user.user_name} has policies attached directly ({', '.join(sorted(names))}); "
                "grant permissions through groups",
                user.user_name,
                is_managed(user, settings),
            )
    return result


def _unused(
    find: Any,
    what: str,
    last_used: datetime | None,
    since: datetime | None,
    now: datetime,
    name: str,
    managed: bool,
    slot: int | None,
) -> None:
    reference = last_used or since
    if reference is None:
        return
    idle = now - reference
    used = (
        f"last used {format_timestamp(last_used)}" if last_used else f"never used (since {format_timestamp(reference)})"
    )
    if idle > timedelta(days=UNUSED_DAYS):
        find("credential_unused_90_days", f"{what} of user {name} unused for 90+ days ({used})", name, managed, slot)
    elif idle > timedelta(days=UNUSED_WARN_DAYS):
        find("credential_unused_45_days", f"{what} of user {name} unused for 45+ days ({used})", name, managed, slot)
