"""Plans and reports: what a run decided to do, what it did, and what it warns about. Never a secret."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from key_lifecycle.models.base import Model


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


@dataclass(slots=True, kw_only=True)
class Action(Model):
    user_name: str
    action: ActionKind
    reason: str
    access_key_id: str | None = None
    status: ActionStatus = ActionStatus.PLANNED
    detail: str | None = None  # outcome detail after apply (e.g. the failure), never a secret

    def __post_init__(self) -> None:
        # Given as plain strings too ("delete_key"); held as the enums, as the JSON report and the metrics expect.
        self.action = ActionKind(self.action)
        self.status = ActionStatus(self.status)


@dataclass(slots=True, kw_only=True)
class Warning(Model):
    user_name: str | None
    code: str  # short machine-readable reason, e.g. "unmanaged_in_path", "deactivation_postponed"
    message: str
    access_key_id: str | None = None


@dataclass(slots=True, kw_only=True)
class Plan(Model):
    """The planner's output for one run: every action in order, and the warnings."""

    actions: list[Action] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Own lists: appending to a plan must never change the list it was built from.
        self.actions, self.warnings = list(self.actions), list(self.warnings)


@dataclass(slots=True, kw_only=True)
class Report(Model):
    """What every invocation returns (JSON, through `model_dump(mode="json")`)."""

    function: str
    dry_run: bool
    account_id: str | None = None  # organization mode: the member account the run acted in (None: its own)
    actions: list[Action] = field(default_factory=list)
    warnings: list[Warning] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
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
    advice: dict[str, Any] | None = None  # {"action": "advise"}: the prefer-roles recommendations
    # {"action": "digest"}: what the operator's digest counted (changes since the last digest, open conditions)
    digest: dict[str, Any] | None = None
    # organization mode: {"action": "list_accounts"} gives the target accounts, [{"account_id": ..., "name": ...}];
    # {"action": "aggregate_runs"} the organization run (accounts done and failed, actions and warnings by account)
    accounts: list[dict[str, str]] | None = None
    organization: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.actions, self.warnings, self.errors = list(self.actions), list(self.warnings), list(self.errors)
