"""Organization mode's data: the accounts of the organization as Organizations describes them, and the per-account
runs of a Distributed Map as its ResultWriter recorded them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from key_lifecycle.models.base import Model

ACTIVE = "ACTIVE"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrganizationAccount(Model):
    account_id: str
    name: str
    state: str  # ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED… (Organizations' State, or its older Status)

    @property
    def active(self) -> bool:
        return self.state == ACTIVE


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetAccounts(Model):
    """The accounts under the target OUs (nested OUs included): those to act in, and those skipped with why."""

    accounts: tuple[OrganizationAccount, ...] = ()
    skipped: dict[str, str] = field(default_factory=dict)  # account id → "suspended", "excluded", …

    def as_items(self) -> list[dict[str, str]]:
        """The Distributed Map's items: small, one per account."""
        return [{"account_id": a.account_id, "name": a.name} for a in self.accounts]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChildRun(Model):
    """One child execution of a Distributed Map: the account it ran for and its output (the member run's report) or
    its error and cause."""

    account_id: str | None
    status: str  # SUCCEEDED | FAILED | TIMED_OUT | ABORTED | PENDING
    output: Any = None
    error: str | None = None
    cause: str | None = None
