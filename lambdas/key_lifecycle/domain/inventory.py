"""The inventory report: per managed user its keys (id, status, age, last use, secret stage, the advisor's last
recommendation), the next action and its date, and account totals. Pure logic over a snapshot
(tools/inventory_table.py prints it as a table)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from key_lifecycle.domain.forewarn import UpcomingEvent, upcoming_events
from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.models.constants import (
    EXPIRES_AT_TAG,
    OWNER_TAG,
    STAGE_CURRENT,
    STAGE_PENDING,
    STAGE_PREVIOUS,
    KeyStatus,
)
from key_lifecycle.models.dates import as_utc, format_timestamp, whole_days
from key_lifecycle.models.managed import is_managed, is_unmanaged_in_path
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot

_ACTION_OF = {
    UpcomingEvent.USER_EXPIRY: "delete user (expiry)",
    UpcomingEvent.USER_STALE: "delete user (unused)",
    UpcomingEvent.KEY_DEACTIVATION: "deactivate key",
    UpcomingEvent.KEY_DELETION: "delete key",
}


def _stage(stages: frozenset[str] | None) -> str:
    if not stages:
        return "none (not stored)"
    for stage in (STAGE_PENDING, STAGE_CURRENT, STAGE_PREVIOUS):
        if stage in stages:
            return stage
    return "stored, unlabelled"


def build_inventory(
    snapshot: AccountSnapshot,
    now: datetime,
    settings: Settings,
    *,
    advice: Mapping[str, str] | None = None,
    advised_at: str | None = None,
) -> dict[str, Any]:
    """The report as JSON-ready data: `users` (one entry per managed user) and `totals`. `advice` is the advisor's
    last recommendation per access key id (made at `advised_at`): a key it never advised shows null for both."""
    advice = advice or {}
    now = as_utc(now)
    users: list[dict[str, Any]] = []
    totals = {
        "managed_users": 0,
        "unmanaged_in_path": 0,
        "keys": 0,
        "active_keys": 0,
        "inactive_keys": 0,
        "keys_without_secret": 0,
        "users_deleted_within_7_days": 0,
        "keys_due_for_rotation": 0,
    }
    for user in sorted(snapshot.users, key=lambda u: u.user_name.lower()):
        if is_unmanaged_in_path(user, settings):
            totals["unmanaged_in_path"] += 1
        if not is_managed(user, settings):
            continue
        totals["managed_users"] += 1
        roles = classify_keys(user)
        role_of = {k.access_key_id: "current" for k in ([roles.current] if roles.current else [])}
        role_of.update({k.access_key_id: "pending" for k in roles.pending})
        role_of.update({k.access_key_id: "replaced" for k in roles.replaced})
        role_of.update({k.access_key_id: "unstored" for k in roles.unstored})

        candidates: list[tuple[datetime, str, str, str | None]] = []
        for item in upcoming_events(user, now, settings):
            candidates.append((item.due, _ACTION_OF[item.event], item.reason, item.access_key_id))
        for key in roles.pending:
            candidates.append((now, "verify key", "its secret version is still AWSPENDING", key.access_key_id))
        current = roles.current
        if current is not None and current.status == KeyStatus.ACTIVE and not roles.pending:
            due = as_utc(current.create_date) + timedelta(days=settings.rotate_after_days)
            candidates.append(
                (due, "rotate key", f"rotated at {settings.rotate_after_days} days of age", current.access_key_id)
            )
            if due <= now:
                totals["keys_due_for_rotation"] += 1
        if current is None and not roles.pending:
            candidates.append((now, "create key", "no verified current key", None))

        next_by_key: dict[str, tuple[datetime, str]] = {}
        for due, action, _, akid in sorted(candidates, key=lambda c: c[0]):
            if akid is not None and akid not in next_by_key:
                next_by_key[akid] = (due, action)

        # A user deleted before a key's own next action takes the key with it: that is the key's next action.
        deletions = sorted((c for c in candidates if c[1].startswith("delete user")), key=lambda c: c[0])
        keys = []
        for key in sorted(user.keys, key=lambda k: (as_utc(k.create_date), k.access_key_id)):
            totals["keys"] += 1
            totals["active_keys" if key.status == KeyStatus.ACTIVE else "inactive_keys"] += 1
            if role_of.get(key.access_key_id) == "unstored":
                totals["keys_without_secret"] += 1
            nxt = next_by_key.get(key.access_key_id)
            if deletions and (nxt is None or deletions[0][0] <= nxt[0]):
                nxt = (deletions[0][0], deletions[0][1])
            keys.append(
                {
                    "access_key_id": key.access_key_id,
                    "status": key.status,
                    "role": role_of.get(key.access_key_id, "unstored"),
                    "created": format_timestamp(key.create_date),
                    "age_days": whole_days(key.create_date, now),
                    "last_used": format_timestamp(key.last_used_date) if key.last_used_date else None,
                    "secret_stage": _stage(roles.stages.get(key.access_key_id)),
                    "next_action": nxt[1] if nxt else None,
                    "next_action_due": format_timestamp(nxt[0]) if nxt else None,
                    "advice": advice.get(key.access_key_id),
                    "advised_at": advised_at if key.access_key_id in advice else None,
                }
            )
        first = min(candidates, key=lambda c: c[0]) if candidates else None
        expires = user.tags.get(EXPIRES_AT_TAG)
        if deletions and deletions[0][0] - now <= timedelta(days=7):
            totals["users_deleted_within_7_days"] += 1
        users.append(
            {
                "user_name": user.user_name,
                "owner": user.tags.get(OWNER_TAG),
                "created": format_timestamp(user.create_date),
                "expires_at": expires,
                "secret": user.secret.name if user.secret is not None and user.secret.deleted_date is None else None,
                "keys": keys,
                "next_action": first[1] if first else None,
                "next_action_due": format_timestamp(first[0]) if first else None,
                "next_action_reason": first[2] if first else None,
            }
        )
    return {
        "generated_at": format_timestamp(now),
        "advised_at": advised_at,
        "users": users,
        "totals": totals,
    }
