"""The EventBridge events of a run: one per action carried out (or failed) and per warning. Pure; never a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from key_lifecycle.models.constants import (
    AUDIT_CODE_PREFIX,
    CHANGE_CODE_PREFIX,
    EXPIRES_AT_TAG,
    FOREWARN_CODE_PREFIX,
    OWNER_TAG,
)
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Report
from key_lifecycle.models.snapshot import AccountSnapshot

# Warnings whose own, richer event is published where they are made (forewarnings, audit findings).

_DETAIL_TYPES: dict[ActionKind, str] = {
    ActionKind.CREATE_USER: "Temporary User Created",
    ActionKind.CREATE_KEY: "Access Key Created",
    ActionKind.VERIFY_KEY: "Access Key Verified",
    ActionKind.DEACTIVATE_KEY: "Access Key Deactivated",
    ActionKind.DELETE_KEY: "Access Key Deleted",
    ActionKind.DELETE_USER: "Temporary User Deleted",
    ActionKind.DELETE_SECRET: "Temporary User Secret Deleted",
}
FAILED_DETAIL_TYPE = "Lifecycle Action Failed"
WARNING_DETAIL_TYPE = "Lifecycle Warning"


def detail_type_of(action: Action, function: str) -> str:
    if action.status is ActionStatus.FAILED:
        return FAILED_DETAIL_TYPE
    if action.action is ActionKind.CREATE_KEY and function == "rotate_keys":
        return "Access Key Rotated"
    return _DETAIL_TYPES[action.action]


def run_events(report: Report, snapshot: AccountSnapshot | None, now: datetime) -> list[tuple[str, dict[str, Any]]]:
    """(detail-type, detail) for every action the run carried out or failed, and every warning; none in a dry run."""
    if report.dry_run:
        return []
    at = format_timestamp(now)

    def about(user_name: str | None) -> dict[str, Any]:
        user = snapshot.find(user_name) if snapshot is not None and user_name else None
        return {
            # In an organization run, the member account the user lives in (single-account events are unchanged).
            **({"account_id": report.account_id} if report.account_id else {}),
            "user_name": user_name,
            "owner": user.tags.get(OWNER_TAG) if user is not None else None,
            "expires_at": user.tags.get(EXPIRES_AT_TAG) if user is not None else None,
        }

    events: list[tuple[str, dict[str, Any]]] = []
    for action in report.actions:
        if action.status is ActionStatus.PLANNED:
            continue
        events.append(
            (
                detail_type_of(action, report.function),
                {
                    **about(action.user_name),
                    "function": report.function,
                    "action": str(action.action),
                    "status": str(action.status),
                    "access_key_id": action.access_key_id,
                    "reason": action.reason,
                    "outcome": action.detail,
                    "at": at,
                },
            )
        )
    for warning in report.warnings:
        if warning.code.startswith((FOREWARN_CODE_PREFIX, AUDIT_CODE_PREFIX, CHANGE_CODE_PREFIX)):
            continue
        events.append(
            (
                WARNING_DETAIL_TYPE,
                {
                    **about(warning.user_name),
                    "function": report.function,
                    "code": warning.code,
                    "access_key_id": warning.access_key_id,
                    "reason": warning.message,
                    "at": at,
                },
            )
        )
    return events
