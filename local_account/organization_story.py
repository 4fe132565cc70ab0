"""The demo's story spread over the member accounts of a local organization: each member account plays `Story`
(its users, its consumers, its invariants) through the hub's functions, while the hub's schedules start the state
machines that run the lifecycle in every target account. Beside the per-account invariants, the organization's:
every scheduled run ends with a run report naming every target account (done, or failed with its reason), an
excluded account is never touched, an account that joins is covered from the first run after it joins."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from local_account.organization import LocalOrganization
from local_account.runtime import Invocation
from local_account.story import MANAGED_PATH, Story
from local_account.timeline import Invariant, day_number, find_secrets, invocation_texts

SPOKE_ROLE_PATH = "/iam-key-lifecycle/"
EXCLUDED_USER = "look-alike-managed-user"


class MemberAccount:
    """A member account as `Story` uses an account: its administrator's clients, the hub's functions invoked with
    its `account_id`, the runs the hub made in it, and the organization's clock."""

    def __init__(self, organization: LocalOrganization, name: str):
        self._organization = organization
        self.name = name
        self.account_id = organization.account(name).account_id
        self._seen = 0
        self._mine: list[Invocation] = []

    @property
    def now(self) -> dt.datetime:
        return self._organization.hub.now

    def admin_client(self, service: str, *, region: str | None = None) -> Any:
        return self._organization.account(self.name).admin_client(service, region=region)

    def client(self, service: str, credentials: Any, *, region: str | None = None) -> Any:
        return self._organization.hub.client(service, credentials=credentials, region=region)

    def invoke(self, function: str, event: Any = None) -> Any:
        return self._organization.invoke(function, {**dict(event or {}), "account_id": self.account_id})

    @property
    def invocations(self) -> list[Invocation]:
        """The hub's invocations that acted in this account (their event names it), oldest first."""
        every = self._organization.hub.invocations
        for invocation in every[self._seen :]:
            if isinstance(invocation.event, dict) and invocation.event.get("account_id") == self.account_id:
                self._mine.append(invocation)
        self._seen = len(every)
        return self._mine


@dataclass
class Joining:
    """An account that joins the organization on `day` (counted from the start), in the OU at `ou`."""

    name: str
    day: int
    ou: str


@dataclass
class OrganizationStory:
    """`members` play the story from the start; `joining` accounts join on their day and play the rest of the span;
    `excluded` accounts (excluded by the deployment) hold a look-alike managed user the runs must never touch;
    `broken` accounts lose their spoke roles (an administrator deletes them) and must be reported failed;
    `bystanders` are target accounts that play no story (each run must still report them done)."""

    organization: LocalOrganization
    days: int
    members: Sequence[str]
    joining: Sequence[Joining] = ()
    excluded: Sequence[str] = ()
    broken: Sequence[str] = ()
    bystanders: Sequence[str] = ()
    stories: dict[str, Story] = field(default_factory=dict)
    joined_at: dict[str, dt.datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.start = self.organization.now
        self.every_run_reported = Invariant(
            "every_run_reported",
            "every scheduled state machine run succeeds with a run report naming each target account: done, or "
            "failed with its reason (the broken accounts, and only they)",
        )
        self.excluded_untouched = Invariant(
            "excluded_untouched", "no function ran in an excluded account and what it holds is unchanged"
        )
        self.joined_covered = Invariant(
            "joined_covered", "an account that joins is in the report of every run that starts after it joined"
        )
        self._excluded_before: dict[str, Any] = {}
        self._pending = sorted(self.joining, key=lambda joining: joining.day)

    # --- seeding ---------------------------------------------------------------------------------------------

    def seed(self) -> None:
        for name in self.excluded:
            self._seed_excluded(name)
        self._excluded_before = {name: self._holdings(name) for name in self.excluded}
        for name in self.broken:
            self.delete_spoke_roles(name)
        for name in self.members:
            self._start_story(name, self.days)

    def _start_story(self, name: str, days: int) -> None:
        story = Story(MemberAccount(self.organization, name), days=days, advisor_consumers=False)
        story.seed()
        story.begin()
        self.stories[name] = story

    def _seed_excluded(self, name: str) -> None:
        # Made by hand as the functions make their users (path and tag): only the exclusion keeps the runs off it.
        iam = self.organization.account(name).admin_client("iam")
        tags = [{"Key": "managed-by", "Value": "iam-key-lifecycle"}, {"Key": "expires-at", "Value": "2020-01-01"}]
        iam.create_user(UserName=EXCLUDED_USER, Path=MANAGED_PATH, Tags=tags)
        iam.create_access_key(UserName=EXCLUDED_USER)

    def _holdings(self, name: str) -> dict[str, Any]:
        iam = self.organization.account(name).admin_client("iam")
        users = iam.list_users()["Users"]
        return {
            user["UserName"]: sorted(
                (key["AccessKeyId"], key["Status"])
                for key in iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
            )
            for user in users
        }

    def delete_spoke_roles(self, name: str) -> list[str]:
        """What an administrator of the member does by hand: every spoke role deleted (policies first)."""
        iam = self.organization.account(name).admin_client("iam")
        deleted = []
        for role in iam.list_roles(PathPrefix=SPOKE_ROLE_PATH)["Roles"]:
            role_name = role["RoleName"]
            for policy in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
                iam.detach_role_policy(RoleName=role_name, PolicyArn=policy["PolicyArn"])
            for policy_name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
                iam.delete_role_policy(RoleName=role_name, PolicyName=policy_name)
            iam.delete_role(RoleName=role_name)
            deleted.append(role_name)
        return deleted

    # --- the span ----------------------------------------------------------------------------------------------

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        end = self.start + dt.timedelta(days=self.days)
        last_day = [0]

        def on_tick(now: dt.datetime) -> None:
            while self._pending and now >= self.start + dt.timedelta(days=self._pending[0].day):
                self._join(self._pending.pop(0), now)
            for story in self.stories.values():
                story.tick(now)
            day = day_number(now, self.start)
            if progress is not None and day != last_day[0]:
                last_day[0] = day
                progress(day)

        self.organization.advance_to(end, on_tick=on_tick)
        for story in self.stories.values():
            story.finish()
        self._check_runs()
        self._check_excluded()

    def _join(self, joining: Joining, now: dt.datetime) -> None:
        self.organization.add_account(joining.name, ou=joining.ou)
        self.joined_at[joining.name] = now
        remaining = max(1, self.days - day_number(now, self.start))
        self._start_story(joining.name, remaining)

    # --- the organization's invariants ---------------------------------------------------------------------------

    def account_ids(self, names: Sequence[str]) -> dict[str, str]:
        return {self.organization.account(name).account_id: name for name in names}

    def _check_runs(self) -> None:
        healthy = self.account_ids([*self.members, *self.bystanders])
        broken = self.account_ids(self.broken)
        joined = {self.organization.account(name).account_id: when for name, when in self.joined_at.items()}
        excluded = set(self.account_ids(self.excluded))
        for execution in self.organization.runs:
            started = execution["startDate"]
            ok = self.every_run_reported.check(
                execution["status"] == "SUCCEEDED",
                f"run {execution['executionArn'].rsplit(':', 1)[-1]} at {started}: {execution['status']} "
                f"{execution.get('error')}: {execution.get('cause')}",
            )
            if not ok:
                continue
            section = (json.loads(execution["output"]) or {}).get("organization") or {}
            done = set(section.get("accounts_done") or [])
            failed = {f["account_id"]: f.get("reason", "") for f in section.get("accounts_failed") or []}
            # Schedules fire before the story's moment: a run starting at the instant an account joined began first.
            expected = set(healthy) | {account for account, when in joined.items() if when < started}
            label = f"{section.get('job')} run at {started}"
            self.every_run_reported.check(
                done == expected, f"{label}: done {sorted(done)}, expected {sorted(expected)}"
            )
            self.every_run_reported.check(
                set(failed) == set(broken) and all("AssumeRole" in reason for reason in failed.values()),
                f"{label}: failed {failed}, expected {sorted(broken)} (AssumeRole refused)",
            )
            self.excluded_untouched.check(not (excluded & (done | set(failed))), f"{label}: ran in an excluded account")
            for account, when in joined.items():
                if when < started:
                    self.joined_covered.check(account in done, f"{label}: joined account {account} not covered")

    def _check_excluded(self) -> None:
        excluded = self.account_ids(self.excluded)
        for invocation in self.organization.hub.invocations:
            event = invocation.event if isinstance(invocation.event, dict) else {}
            self.excluded_untouched.check(
                event.get("account_id") not in excluded, f"{invocation.function} ran with {event}"
            )
        for name, before in self._excluded_before.items():
            after = self._holdings(name)
            self.excluded_untouched.check(before == after, f"{name} changed: before {before}, after {after}")

    def invariants(self) -> dict[str, list[Invariant]]:
        """Per member account, the story's invariants; under `organization`, the organization's."""
        found: dict[str, list[Invariant]] = {name: story.invariants() for name, story in self.stories.items()}
        # Every run of the hub (each member's and the aggregated reports) and every run report, for each secret.
        texts = invocation_texts(self.organization.hub.invocations)
        texts.update({f"run report {i}": str(run.get("output")) for i, run in enumerate(self.organization.runs)})
        for story in self.stories.values():
            leaks = find_secrets(story.secrets.values, texts)
            story.no_secret_leak.check(not leaks, "secret found in: " + ", ".join(leaks[:20]))
        found["organization"] = [self.every_run_reported, self.excluded_untouched, self.joined_covered]
        return found

    def broken_invariants(self) -> Mapping[str, list[str]]:
        return {
            f"{scope}/{invariant.name}": invariant.failures[:5]
            for scope, invariants in self.invariants().items()
            for invariant in invariants
            if not invariant.ok
        }
