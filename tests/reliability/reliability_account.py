"""The account the reliability tests run in: the integration tests' moto account plus a crash injector, the
invariants every run must leave behind, and a way to empty the account between scenarios."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from tests.support.moto_account import GROUP, PATH, PREFIX, Account

LOCK_TABLE = "iam-key-lifecycle-locks"


class LambdaKilled(BaseException):
    """The Lambda runtime ending an invocation (timeout, out of memory): nothing in the function can catch it."""


@dataclass
class CrashInjector:
    """Counts the functions' AWS calls; when armed, the call numbered `at` takes effect in AWS but its caller sees
    a failure: a 500 InternalFailure (`error`), or the invocation is killed (`kill`) and makes no further call."""

    at: int | None = None
    mode: str = "error"
    count: int = 0
    operations: list[str] = field(default_factory=list)
    fired: bool = False
    dead: bool = False

    def arm(self, at: int | None, mode: str = "error") -> None:
        self.at, self.mode, self.count, self.operations, self.fired, self.dead = at, mode, 0, [], False, False

    def disarm(self) -> None:
        """Stop injecting; the count of the last run stays readable."""
        self.at, self.dead = None, False

    def before_call(self, model: Any, **_: Any) -> None:
        if self.dead:
            raise LambdaKilled(f"no call after the kill ({model.name})")

    def after_call(self, model: Any, **_: Any) -> None:
        self.count += 1
        self.operations.append(model.name)
        if self.at != self.count:
            return
        self.fired = True
        if self.mode == "kill":
            self.dead = True
            raise LambdaKilled(f"killed after call {self.count} ({model.name})")
        raise ClientError({"Error": {"Code": "InternalFailure", "Message": "injected"}}, model.name)


class World(Account):
    """The moto account with the crash injector; `run` invokes a handler the way the Lambda runtime would."""

    def __init__(self, context: Any, faults: Any, clock: Any, crash: CrashInjector) -> None:
        super().__init__(context, faults, clock)
        self.crash = crash
        self.reports: list[dict[str, Any]] = []

    def run(self, function: str, event: object, *, crash_at: int | None = None, mode: str = "error") -> dict[str, Any]:
        """Invoke once; a killed invocation returns {"killed": True} (its report is lost, as in Lambda)."""
        self.crash.arm(crash_at, mode)
        try:
            report = self.invoke(function, event)
        except LambdaKilled:
            report = {"killed": True}
        except Exception as exc:  # the runtime reports a failed invocation; the state is what matters here
            report = {"raised": type(exc).__name__}
        finally:
            self.crash.disarm()
        self.reports.append(report)
        return report

    def schedules(self) -> list[dict[str, Any]]:
        return [
            self.run("create_keys", {"action": "reconcile"}),
            self.run("rotate_keys", {}),
            self.run("cleanup_users", {}),
        ]

    # Invariants -------------------------------------------------------------------------------------------

    def managed_users(self) -> list[dict[str, Any]]:
        details = self.iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
        return [d for d in details if d["Path"] == PATH]

    def problems(self, *, settled: bool) -> list[str]:
        """What is wrong with the account now. `settled`: the schedules have run since the last crash."""
        found = []
        for detail in self.managed_users():
            name = detail["UserName"]
            tags = {t["Key"]: t["Value"] for t in detail.get("Tags", [])}
            keys = self.keys(name)
            secret = self.secret(name) or {}
            live = "DeletedDate" not in secret
            stages = {v.split("-")[0]: st for v, st in secret.get("SecretVersionsToStages", {}).items()} if live else {}
            current = [k for k, st in stages.items() if "AWSCURRENT" in st and "AWSPENDING" not in st]
            if len(keys) > 2:
                found.append(f"{name}: {len(keys)} keys")
            # The key consumers read (AWSCURRENT) must work whenever a verified one exists.
            for akid in current:
                if keys.get(akid) != "Active" and "deleting" not in tags:
                    found.append(f"{name}: the AWSCURRENT key {akid} is {keys.get(akid, 'deleted')}")
            if not settled:
                continue
            if "deleting" in tags:
                found.append(f"{name}: a deletion was not finished")
                continue
            for akid in keys:
                if akid not in stages:
                    found.append(f"{name}: key {akid} has no stored secret")
            if len(current) != 1:
                found.append(f"{name}: {len(current)} verified current keys")
            for tag in ("provisioning", "pending-key"):
                if tag in tags:
                    found.append(f"{name}: tag {tag} left behind")
            if GROUP not in detail.get("GroupList", []):
                found.append(f"{name}: not in the group {GROUP}")
        if settled:
            users = {d["UserName"] for d in self.managed_users()}
            for secret in self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]:
                owner = secret["Name"].removeprefix(PREFIX)
                if owner not in users and "DeletedDate" not in secret:
                    found.append(f"secret {secret['Name']} outlived its user")
        for report in self.reports:
            if "LimitExceeded" in json.dumps(report):
                found.append("a run hit LimitExceeded (a third key was attempted)")
        return found

    # Between scenarios ------------------------------------------------------------------------------------

    def empty(self) -> None:
        """Remove every managed user, secret and lock, as an administrator would."""
        for detail in self.managed_users():
            name = detail["UserName"]
            for akid in self.keys(name):
                self.iam.delete_access_key(UserName=name, AccessKeyId=akid)
            for group in detail.get("GroupList", []):
                self.iam.remove_user_from_group(UserName=name, GroupName=group)
            for policy in detail.get("UserPolicyList", []):
                self.iam.delete_user_policy(UserName=name, PolicyName=policy["PolicyName"])
            with contextlib.suppress(ClientError):
                self.iam.delete_login_profile(UserName=name)
            self.iam.delete_user(UserName=name)
        for secret in self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]:
            if "DeletedDate" in secret:
                self.sm.restore_secret(SecretId=secret["ARN"])
            self.sm.delete_secret(SecretId=secret["ARN"], ForceDeleteWithoutRecovery=True)
        self.reports.clear()
