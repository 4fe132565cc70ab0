"""Plans and reports: what a run decided to do, what it did, and what it warns about. Never a secret."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict


class ActionKind(StrEnum):
    CREATE_USER = "create_user"  # user + tags + boundary + group membership
    CREATE_KEY = "create_key"  # key → secret version AWSPENDING → verify → AWSCURRENT
    VERIFY_KEY = "verify_key"  # finish a pending verification and promote to AWSCURRENT
    DEACTIVATE_KEY = "deactivate_key"
    DELETE_KEY = "delete_key"
    DELETE_USER = "delete_user"  # every credential IAM requires gone first, then the user
    DELETE_SECRET = "delete_secret"  # with the recovery window


class ActionStatus(StrEnum):
    PLANNED = "planned"
    DONE = "done"
    FAILED = "failed"


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_name: str
    action: ActionKind
    reason: str
    access_key_id: str | None = None
    status: ActionStatus = ActionStatus.PLANNED
    detail: str | None = None  # outcome detail after apply (e.g. the failure), never a secret


class Warning(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_name: str | None
    code: str  # short machine-readable reason, e.g. "unmanaged_in_path", "deactivation_postponed"
    message: str
    access_key_id: str | None = None


class Plan(BaseModel):
    """The planner's output for one run: every action in order, and the warnings."""

    model_config = ConfigDict(extra="forbid")

    actions: list[Action] = []
    warnings: list[Warning] = []


class Report(BaseModel):
    """What every invocation returns (JSON)."""

    model_config = ConfigDict(extra="forbid")

    function: str
    dry_run: bool
    actions: list[Action] = []
    warnings: list[Warning] = []
    errors: list[str] = []
    # create_user only
    user_arn: str | None = None
    access_key_id: str | None = None
    secret_arn: str | None = None
    expires_at: str | None = None
    verification: str | None = None  # "verified" | "pending" | "skipped (dry run)" | "failed"
    verified_arn: str | None = None
    # read-only invocations: {"action": "audit"}, {"action": "report"}, and the change detection
    audit: dict[str, Any] | None = None
    inventory: dict[str, Any] | None = None
    change: dict[str, Any] | None = None
