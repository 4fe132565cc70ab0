"""AWS Organizations: the target accounts (a recursive walk of the target OUs, every page), and one account's
standing (its state and the OUs above it) for checking a manual `account_id`."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call, paginate
from key_lifecycle.models.organization import OrganizationAccount, TargetAccounts


def _account(item: dict[str, Any]) -> OrganizationAccount:
    # `State` replaces the deprecated `Status` (retired in 2026); whichever the answer holds.
    state = str(item.get("State") or item.get("Status") or "")
    return OrganizationAccount(account_id=str(item["Id"]), name=str(item.get("Name", "")), state=state)


class OrganizationsGateway:
    def __init__(self, client: Any) -> None:
        self._client = client

    def root_id(self) -> str:
        roots = list(paginate(self._client, "ListRoots", "Roots"))
        if not roots:
            raise AwsError("ListRoots", "NoRoot")
        return str(roots[0]["Id"])

    def target_accounts(self, targets: Iterable[str], exclude: Iterable[str] = ()) -> TargetAccounts:
        """Every account under `targets` (OU or root ids; none: the root), through every level of nested OUs.
        Accounts that are not active (suspended, closing) and excluded ones are skipped, with the reason, and so is
        the management account: service-managed StackSets never deploy there, so it has no spoke role."""
        excluded = set(exclude)
        management = self.management_account_id()
        queue = deque(list(targets) or [self.root_id()])
        walked: set[str] = set()
        accounts: dict[str, OrganizationAccount] = {}
        skipped: dict[str, str] = {}
        while queue:
            parent = queue.popleft()
            if parent in walked:
                continue
            walked.add(parent)
            for item in paginate(self._client, "ListAccountsForParent", "Accounts", ParentId=parent):
                account = _account(item)
                if account.account_id in excluded:
                    skipped[account.account_id] = "excluded"
                elif account.account_id == management:
                    skipped[account.account_id] = "management account"
                elif not account.active:
                    skipped[account.account_id] = account.state.lower() or "not active"
                else:
                    accounts[account.account_id] = account
            for ou in paginate(
                self._client, "ListOrganizationalUnitsForParent", "OrganizationalUnits", ParentId=parent
            ):
                queue.append(str(ou["Id"]))
        ordered = tuple(sorted(accounts.values(), key=lambda a: a.account_id))
        return TargetAccounts(accounts=ordered, skipped=dict(sorted(skipped.items())))

    def management_account_id(self) -> str:
        organization = call(self._client, "DescribeOrganization").get("Organization", {})
        return str(organization.get("MasterAccountId", ""))

    def describe_account(self, account_id: str) -> OrganizationAccount | None:
        """The account, or None when it is not in the organization."""
        try:
            answer = call(self._client, "DescribeAccount", AccountId=account_id)
        except AwsError as exc:
            if exc.code == "AccountNotFoundException":
                return None
            raise
        return _account(answer["Account"])

    def ancestors(self, child_id: str) -> tuple[str, ...]:
        """The OU ids above an account or an OU, nearest first, ending with the root id."""
        chain: list[str] = []
        current = child_id
        while True:
            parents = call(self._client, "ListParents", ChildId=current).get("Parents", [])
            if not parents:
                return tuple(chain)
            parent = parents[0]
            chain.append(str(parent["Id"]))
            if parent.get("Type") == "ROOT":
                return tuple(chain)
            current = str(parent["Id"])
