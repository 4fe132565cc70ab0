"""LocalOrganization: an emulated AWS Organization in this process. The local account is its management (hub)
account; each member is an account of its own in moto (keyed by account id), with its own administrator."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from local_account.account import (
    ADMIN_POLICY_ARN,
    ADMIN_USER,
    REGION,
    LocalAccount,
    LocalAccountError,
    _quiet_unsupported_resources,
)
from local_account.runtime import Invocation

# The role AWS Organizations creates in every account it creates, trusted by the management account.
ORGANIZATION_ACCESS_ROLE = "OrganizationAccountAccessRole"


@dataclass
class Member:
    """A member account: its id, where it sits, and clients as its administrator."""

    name: str
    account_id: str
    ou_path: str
    _hub: LocalAccount = field(repr=False)
    _admin: tuple[str, str] = field(repr=False)

    @property
    def admin_credentials(self) -> dict[str, str]:
        return {"AccessKeyId": self._admin[0], "SecretAccessKey": self._admin[1]}

    def admin_client(self, service: str, *, region: str | None = None) -> Any:
        """A boto3 client for `service` as this account's administrator (an IAM user with AdministratorAccess)."""
        return self._hub.client(service, credentials=self._admin, region=region)


class LocalOrganization:
    """An organization whose management account is a LocalAccount (`hub`). Use `create` or `deploy` as a context
    manager; closing it closes the hub, and every member account goes with the emulator."""

    def __init__(self, hub: LocalAccount):
        self.hub = hub
        self.organization_id = ""
        self.root_id = ""
        self._ous: dict[str, str] = {}
        self._members: dict[str, Member] = {}

    # --- setting up ---------------------------------------------------------------------------------------

    @classmethod
    def create(
        cls,
        members: Mapping[str, str],
        *,
        start: datetime | None = None,
        region: str = REGION,
        enforce_iam: bool = True,
    ) -> LocalOrganization:
        """An organization in a fresh local account with nothing deployed: OUs by path (`"Workloads/Dev"`, nested
        as the path says; `""` is the root) and one member account per entry, named by its key."""
        hub = LocalAccount.empty(start=start, region=region, enforce_iam=enforce_iam)
        organization = cls(hub)
        try:
            organization._create(members)
        except BaseException:
            hub.close()
            raise
        return organization

    @classmethod
    def deploy(
        cls,
        members: Mapping[str, str],
        context: Mapping[str, Any] | None = None,
        *,
        start: datetime | None = None,
        region: str = REGION,
        enforce_iam: bool = True,
    ) -> LocalOrganization:
        """`create`, then the real `cdk deploy` into the hub (as `LocalAccount.deploy`) with organization mode on:
        `context["organization"]` gains `"enabled": true` (with no `target_ous`, the stack targets the root); a
        member's name in its `exclude_accounts` stands for that member's account id."""
        organization = cls.create(members, start=start, region=region, enforce_iam=enforce_iam)
        merged = dict(context or {})
        settings = {"organization_id": organization.organization_id, **dict(merged.get("organization") or {})}
        # A member's name in `exclude_accounts` stands for its account id, which only exists once it is created.
        settings["exclude_accounts"] = [
            organization._members[entry].account_id if entry in organization._members else entry
            for entry in settings.get("exclude_accounts") or []
        ]
        merged["organization"] = {**settings, "enabled": True}
        # With no target OUs the stack targets the root, which only the organization knows: a deploy parameter,
        # given as `cdk deploy --parameters IamKeyLifecycle:OrganizationRootId=r-...` (docs/organization.md).
        parameters = (
            {}
            if settings.get("target_ous")
            else {f"{organization.hub.stack_name}:OrganizationRootId": organization.root_id}
        )
        try:
            organization.hub._deploy_stack(merged, parameters)
        except BaseException:
            organization.close()
            raise
        return organization

    def _create(self, members: Mapping[str, str]) -> None:
        organizations = self.hub.admin_client("organizations")
        self.organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        self.root_id = organizations.list_roots()["Roots"][0]["Id"]
        self._ous[""] = self.root_id
        for name, path in members.items():
            self.add_account(name, ou=path)

    def _ensure_ou(self, path: str) -> str:
        path = path.strip("/")
        if path not in self._ous:
            parent_path, _, name = path.rpartition("/")
            parent = self._ensure_ou(parent_path)
            organizations = self.hub.admin_client("organizations")
            created = organizations.create_organizational_unit(ParentId=parent, Name=name)
            self._ous[path] = created["OrganizationalUnit"]["Id"]
        return self._ous[path]

    # --- the organization's accounts ----------------------------------------------------------------------

    @property
    def members(self) -> dict[str, Member]:
        return dict(self._members)

    def account(self, name: str) -> Member:
        """A member account by the name it was created with."""
        if name not in self._members:
            raise LocalAccountError(f"no member account {name!r}; members: {sorted(self._members)}")
        return self._members[name]

    def ou_id(self, path: str) -> str:
        """The id of the OU at `path` (`"Workloads/Dev"`; `""` is the root)."""
        path = path.strip("/")
        if path not in self._ous:
            raise LocalAccountError(f"no OU {path!r}; OUs: {sorted(p for p in self._ous if p)}")
        return self._ous[path]

    def add_account(self, name: str, *, ou: str = "") -> Member:
        """A new member account named `name` in the OU at path `ou` (created if missing), as CreateAccount and
        MoveAccount by the management account make it; its administrator is made through the account's
        OrganizationAccountAccessRole. Service-managed StackSets with automatic deployment to its OU deploy there."""
        if name in self._members:
            raise LocalAccountError(f"a member account {name!r} exists already")
        parent = self._ensure_ou(ou)
        organizations = self.hub.admin_client("organizations")
        # Automatic deployment makes the StackSets' stacks there: resource types moto skips are listed, not warned.
        with _quiet_unsupported_resources():
            status = organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
            account_id = status["AccountId"]
            if parent != self.root_id:
                organizations.move_account(
                    AccountId=account_id, SourceParentId=self.root_id, DestinationParentId=parent
                )
        member = Member(name, account_id, ou.strip("/"), self.hub, self._create_admin(account_id))
        self._members[name] = member
        return member

    def move_account(self, name: str, *, ou: str) -> Member:
        """Move a member to the OU at path `ou` (created if missing)."""
        member = self.account(name)
        organizations = self.hub.admin_client("organizations")
        source, destination = self.ou_id(member.ou_path), self._ensure_ou(ou)
        with _quiet_unsupported_resources():
            organizations.move_account(
                AccountId=member.account_id, SourceParentId=source, DestinationParentId=destination
            )
        member.ou_path = ou.strip("/")
        return member

    def remove_account(self, name: str) -> None:
        """The member leaves the organization (RemoveAccountFromOrganization). Its account and what is in it stay,
        except StackSet instances deployed to it automatically that do not retain stacks on removal."""
        member = self.account(name)
        self.hub.admin_client("organizations").remove_account_from_organization(AccountId=member.account_id)
        del self._members[name]

    def _create_admin(self, account_id: str) -> tuple[str, str]:
        sts = self.hub.admin_client("sts")
        assumed = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{ORGANIZATION_ACCESS_ROLE}", RoleSessionName="local-organization"
        )["Credentials"]
        iam = self.hub.client("iam", credentials=assumed)
        iam.create_user(UserName=ADMIN_USER)
        iam.attach_user_policy(UserName=ADMIN_USER, PolicyArn=ADMIN_POLICY_ARN)
        key = iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    # --- running the hub's functions and schedules -------------------------------------------------------

    def invoke(self, function: str, event: Any = None) -> Any:
        """Run one of the hub's deployed functions now, as `aws lambda invoke` in the hub account would (with
        `account_id` it acts in that member account through its spoke role); its JSON result."""
        return self.hub.invoke(function, event)

    def advance(
        self,
        days: float = 0,
        hours: float = 0,
        minutes: float = 0,
        *,
        on_tick: Callable[[datetime], None] | None = None,
    ) -> list[Invocation]:
        """Move the virtual clock forward, firing the hub's schedules on the way: each starts its state machine
        (list the target accounts, a Distributed Map over them, one aggregated run report), waited for to its end.
        Returns every invocation the runs made; `runs` holds each execution's description."""
        return self.hub.advance(days=days, hours=hours, minutes=minutes, on_tick=on_tick)

    def advance_to(self, until: datetime, *, on_tick: Callable[[datetime], None] | None = None) -> list[Invocation]:
        """`advance` to a moment; `on_tick(now)` runs after the firings of each moment (see LocalAccount)."""
        return self.hub.advance_to(until, on_tick=on_tick)

    @property
    def now(self) -> datetime:
        return self.hub.now

    @property
    def runs(self) -> list[dict[str, Any]]:
        """Every state machine execution a schedule started (DescribeExecution), oldest first."""
        return self.hub.executions

    def run_reports(self, job: str | None = None) -> list[dict[str, Any]]:
        """The run report (AggregateRuns' output) of every execution that succeeded, oldest first; `job` keeps
        one job's (`rotate`, `cleanup`, `reconcile`, `audit`)."""
        reports = []
        for execution in self.hub.executions:
            if execution.get("status") != "SUCCEEDED":
                continue
            report = json.loads(execution.get("output") or "null")
            section = report.get("organization") if isinstance(report, dict) else None
            if isinstance(section, dict) and (job is None or section.get("job") == job):
                reports.append(report)
        return reports

    # --- teardown ------------------------------------------------------------------------------------------

    def close(self) -> None:
        from local_account.emulator import stacksets

        try:
            self.hub.close()
        finally:
            stacksets.forget()

    def __enter__(self) -> LocalOrganization:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
