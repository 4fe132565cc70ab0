"""The demo's seeded story: who the temporary users are, who uses their keys and how, and what must hold every day.

The story acts through the emulated account's public APIs only (as its administrator, or signed with a user's key),
exactly as people and programs would in a real account.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from local_account import consumers, notifications
from local_account.timeline import Invariant, KeySpan, TimelineRow, day_number

MANAGED_PATH = "/temporary/"
SECRET_PREFIX = "temporary-iam-users/"
OWNER = "platform-team@example.com"

ARTICLE_USER = "temporary-iam-user"
BATCH_USER = "batch-job-user"
SHORT_USER = "contractor-10-days"
IDLE_USER = "forgotten-user"
ADMIN_USER = "admin-alice"
UNMANAGED_IN_PATH_USER = "hand-made-user"

# A fixed Monday morning, so every run of the demo tells the same dated story. The hour matters for the idle user:
# created at 10:00, its never-used key reaches the stale age (90 days) at a 06:00 cleanup run before it reaches the
# rotation age (also 90 days) at a 09:00 rotate run. Created between 06:00 and 09:00, the rotation would come first,
# and its verification of the new key would count as a use.
START = dt.datetime(2026, 1, 5, 10, 0, tzinfo=dt.UTC)

CONSUMER = "deploy-pipeline"
LEGACY_CONSUMER = "legacy-batch-job"


@dataclass(frozen=True)
class ManagedUser:
    """A temporary user the story asks the create function for."""

    user_name: str
    owner: str
    ttl_days: int
    purpose: str
    keys_used: bool = True  # False: nobody ever signs with its key, not even the daily check


# The article's user lives long enough to be rotated several times; the batch user's old key keeps being used;
# the contractor expires quickly; the forgotten user is never used and goes stale.
MANAGED_USERS = (
    ManagedUser(ARTICLE_USER, OWNER, 365, "read-only access for the deploy pipeline"),
    ManagedUser(BATCH_USER, "data-team@example.com", 365, "nightly batch export"),
    ManagedUser(SHORT_USER, "vendor-liaison@example.com", 10, "ten days of read-only access for a contractor"),
    ManagedUser(IDLE_USER, "former-employee@example.com", 200, "a one-off audit nobody ran", keys_used=False),
)


def demo_context() -> dict[str, Any]:
    """Context overrides of the deploy: schedules that make a simulated year cheap. The lifecycle settings keep their
    defaults (rotate 90, deactivate 7, delete 7, hard cap 120, stale 90 days): a year shows each of them."""
    return {
        "reconcile_schedule": "rate(1 day)",
        "rotate_schedule": "cron(0 9 ? * MON-FRI *)",
        "cleanup_schedule": "cron(0 6 * * ? *)",
        "schedule_time_zone": "UTC",
        # Cleanup may take users out of the groups under this path (the stack's own group always).
        "removable_group_path": "/demo/",
    }


@dataclass
class Secrets:
    """Every secret value the story has seen, to prove none of them reaches a log, a report or the terminal."""

    values: set[str] = field(default_factory=set)

    def add(self, value: str | None) -> None:
        if value:
            self.values.add(value)


@dataclass(frozen=True)
class StoredKey:
    """The key a secret version holds, as a consumer reads it."""

    version_id: str
    access_key_id: str
    secret_access_key: str = field(repr=False)


class Story:
    """Seeds the account, then each simulated day lets the consumers work and checks the invariants."""

    def __init__(self, account: Any, *, days: int, single_account: bool = True) -> None:
        self.account = account
        self.days = days
        # The single account's story also plays the advisor's consumers (local_account/consumers.py: one bucket name,
        # S3 names being global) and checks each owner's notifications; a member of the local organization's story
        # does neither (the hub notifies one aggregate per organization run).
        self.single_account = single_account
        self._apps: dict[str, tuple[str, str]] = {}
        self.start: dt.datetime = account.now
        self.secrets = Secrets()
        self.rows: list[TimelineRow] = []
        self.invocations: list[Any] = []
        self.created: dict[str, dict[str, Any]] = {}  # user name -> create_user report (arn, expiry, key id)
        self.deleted: set[str] = set()
        self.out_of_scope_before: dict[str, Any] = {}
        self.out_of_scope_after: dict[str, Any] = {}
        self.working_key = Invariant(
            "working_current_key",
            "every managed unexpired user has an AWSCURRENT secret whose key works (daily: read it, "
            "sts get-caller-identity with it, the Arn is the user's)",
        )
        self.no_secret_leak = Invariant(
            "no_secret_in_output",
            "no secret access key or password appears in any log line, result, report file or terminal line",
        )
        self.out_of_scope = Invariant(
            "out_of_scope_untouched",
            "users outside the managed scope have the same keys, tags, groups and policies at the end as at the start",
        )
        self.notified_once = Invariant(
            "notified_once",
            "every action done and every forewarning reached its user's owner in exactly one SNS message",
        )
        self.runs_succeeded = Invariant(
            "runs_succeeded", "every function run applied its actions without a failed action or a run error"
        )
        self._iam = account.admin_client("iam")
        self._secretsmanager = account.admin_client("secretsmanager")
        self._stored: dict[str, StoredKey | None] = {}  # version id -> the key it holds (None: not a key record)
        self._sts_clients: dict[str, Any] = {}
        self._legacy_key: StoredKey | None = None
        self._pipeline_key_id: str | None = None
        self._next_day = self.start
        self._answers: dict[tuple[str, dt.datetime], str | None] = {}
        self._out_of_scope_names: list[str] = []
        self.inventory_reports: dict[str, dict[str, Any]] = {}

    # --- seeding -----------------------------------------------------------------------------------------------

    def seed(self) -> None:
        """Out-of-scope users first (so their state before anything ran is the reference), then the managed ones."""
        self._create_admin_user()
        self._create_unmanaged_in_path_user()
        # Consumers of several origins for the prefer-roles advisor (local_account/consumers.py): users of their own
        # outside the managed path, so the managed users' story is unchanged; out of scope, so checked untouched.
        self._apps = consumers.seed(self.account) if self.single_account else {}
        for _, secret in self._apps.values():
            self.secrets.add(secret)
        self.out_of_scope_before = self.snapshot_out_of_scope()
        for user in MANAGED_USERS:
            self._create_managed_user(user)
        self._give_every_credential(IDLE_USER)
        self._legacy_key = self._read_current(BATCH_USER)
        self._note(LEGACY_CONSUMER, BATCH_USER, "read secret", self._legacy_key, "reads the key once and caches it")

    def _create_admin_user(self) -> None:
        self._iam.create_user(UserName=ADMIN_USER, Path="/admin/", Tags=[{"Key": "team", "Value": "platform"}])
        self._iam.attach_user_policy(UserName=ADMIN_USER, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
        key = self._iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
        self.secrets.add(key["SecretAccessKey"])
        self._note("story", ADMIN_USER, "create key", key["AccessKeyId"], "administrator outside the managed path")

    def _create_unmanaged_in_path_user(self) -> None:
        # In the managed path but without the managed-by tag: the functions must report it and never touch it.
        tags = [{"Key": "team", "Value": "ops"}]
        self._iam.create_user(UserName=UNMANAGED_IN_PATH_USER, Path=MANAGED_PATH, Tags=tags)
        key = self._iam.create_access_key(UserName=UNMANAGED_IN_PATH_USER)["AccessKey"]
        self.secrets.add(key["SecretAccessKey"])
        self._note("story", UNMANAGED_IN_PATH_USER, "create key", key["AccessKeyId"], "made by hand, not tagged")

    def _create_managed_user(self, user: ManagedUser) -> None:
        event = {
            "action": "create_user",
            "user_name": user.user_name,
            "owner": user.owner,
            "ttl_days": user.ttl_days,
            "purpose": user.purpose,
        }
        result = self.invoke("create_keys", event)
        if not isinstance(result, dict) or not result.get("user_arn"):
            raise RuntimeError(f"the manual create of {user.user_name} returned no user: {result}")
        self.created[user.user_name] = result

    def _give_every_credential(self, user_name: str) -> None:
        """Everything IAM makes a user hold that the cleanup must remove before DeleteUser can succeed."""
        iam = self._iam
        password = "Demo-" + "x9Q!" * 4
        self.secrets.add(password)
        iam.create_login_profile(UserName=user_name, Password=password, PasswordResetRequired=False)
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user_name}-mfa")["VirtualMFADevice"]
        iam.enable_mfa_device(
            UserName=user_name,
            SerialNumber=serial["SerialNumber"],
            AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )
        iam.upload_signing_certificate(UserName=user_name, CertificateBody=_self_signed_certificate(user_name))
        iam.upload_ssh_public_key(UserName=user_name, SSHPublicKeyBody=_ssh_public_key())
        iam.put_user_policy(
            UserName=user_name,
            PolicyName="inline-read-buckets",
            PolicyDocument=_policy("s3:ListAllMyBuckets"),
        )
        policy = iam.create_policy(
            PolicyName="demo-attached-policy",
            PolicyDocument=_policy("sts:GetCallerIdentity"),
        )["Policy"]
        iam.attach_user_policy(UserName=user_name, PolicyArn=policy["Arn"])
        iam.create_group(GroupName="demo-extra-group", Path="/demo/")
        iam.add_user_to_group(GroupName="demo-extra-group", UserName=user_name)
        # (moto lacks service-specific credentials; the local account implements them: local_account/emulator/users.py)
        credential = iam.create_service_specific_credential(UserName=user_name, ServiceName="codecommit.amazonaws.com")[
            "ServiceSpecificCredential"
        ]
        self.secrets.add(credential.get("ServicePassword"))
        kinds = (
            "login profile, MFA device, signing certificate, SSH key, inline and attached policy, extra group, "
            "service-specific credential"
        )
        self._note("story", user_name, "add credentials", None, kinds)

    # --- the days ------------------------------------------------------------------------------------------------

    def invoke(self, function: str, event: dict[str, Any]) -> Any:
        result = self.account.invoke(function, event)
        self._absorb_invocations()
        return result

    def run(self, progress: Callable[[int], None] | None = None) -> None:
        """Travel the whole span in one go; the story's day happens at the first schedule firing of each day.

        One `advance` over the span (rather than one a day) lets the account read its schedules once."""
        end = self.begin()
        self.account.advance_to(end, on_tick=lambda now: self.tick(now, progress))
        self.finish(progress)

    def begin(self) -> dt.datetime:
        """Start counting days (the first is due a day after the start); the span's end. For a driver that moves
        the clock itself (several stories in one organization): `begin`, `tick` at each firing, then `finish`."""
        self._next_day = self.start + dt.timedelta(days=1)
        return self.start + dt.timedelta(days=self.days)

    def tick(self, now: dt.datetime, progress: Callable[[int], None] | None = None) -> None:
        """The schedules fired at `now`: the story's day happens at the first firing of each day."""
        if now >= self._next_day:
            self._day(now, progress)

    def finish(self, progress: Callable[[int], None] | None = None) -> None:
        """The span is over: the last day if no schedule fired on it, then the out-of-scope users compared."""
        if self._next_day <= self.start + dt.timedelta(days=self.days):
            self._day(self.account.now, progress)
        self.out_of_scope_after = self.snapshot_out_of_scope()
        self._compare_out_of_scope()
        if self.single_account:
            self.check_notifications()

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS message the stack sent so far."""
        return notifications.sent(self.account.account_id, self.account.region)

    def check_notifications(self) -> None:
        owners = {
            str(i.event["user_name"]): str(i.event["owner"])
            for i in self.invocations
            if isinstance(i.event, dict) and i.event.get("action") == "create_user" and i.event.get("owner")
        }
        notifications.check_delivery(
            self.notified_once, [i.result for i in self.invocations], self.notifications(), owners
        )

    def _day(self, now: dt.datetime, progress: Callable[[int], None] | None) -> None:
        self._absorb_invocations()
        if now.weekday() < 5:
            self._deploy_pipeline(now)
        self._legacy_batch_job(now)
        if now.weekday() == 0 and self._apps:  # Monday, before the weekly advise run (08:00)
            consumers.work(self.account, self._apps)
        self.check_working_keys(now)
        day = day_number(now, self.start)
        if day >= self.days // 2 and "mid_span" not in self.inventory_reports:
            # Half-way through, every user is alive with keys in every state: the owner's view of the account.
            self.inventory_reports["mid_span"] = self._inventory_report()
        self._next_day = self.start + dt.timedelta(days=day + 1)
        if progress is not None:
            progress(day)

    def _inventory_report(self) -> dict[str, Any]:
        """The create function's own inventory (`{"action": "report"}`), with the day it was taken."""
        result = self.invoke("create_keys", {"action": "report"})
        inventory = result.get("inventory") if isinstance(result, dict) else None
        return {"day": day_number(self.account.now, self.start), "inventory": inventory}

    def _absorb_invocations(self) -> None:
        """Judge each new run and learn which users the functions deleted."""
        for invocation in self.account.invocations[len(self.invocations) :]:
            self.invocations.append(invocation)
            self._check_run(invocation.function, invocation.time, invocation.result)
            result = invocation.result if isinstance(invocation.result, dict) else {}
            for action in result.get("actions") or []:
                if action.get("action") == "delete_user" and action.get("status") == "done":
                    self.deleted.add(action.get("user_name"))

    def _check_run(self, function: str, time: dt.datetime, result: Any) -> None:
        if not isinstance(result, dict):
            self.runs_succeeded.check(False, f"{function}: returned {type(result).__name__}, not a report")
            return
        problems = [str(error) for error in result.get("errors") or []]
        if "errorType" in result:  # the handler raised or timed out: the runtime's error document
            problems.append(f"{result['errorType']}: {result.get('errorMessage')}")
        problems += [
            f"{action.get('action')} {action.get('user_name')} failed: {action.get('detail')}"
            for action in result.get("actions") or []
            if action.get("status") == "failed"
        ]
        self.runs_succeeded.check(not problems, f"{function} at {_iso(time)}: {'; '.join(problems)}")

    def _deploy_pipeline(self, now: dt.datetime) -> None:
        """A well-behaved consumer: reads AWSCURRENT every working day, so a rotation never disturbs it."""
        if ARTICLE_USER in self.deleted or not self._alive(ARTICLE_USER, now):
            return
        key = self._read_current(ARTICLE_USER)
        if key is None:
            self._note(CONSUMER, ARTICLE_USER, "read secret FAILED", None, "no AWSCURRENT version")
            return
        if key.access_key_id != self._pipeline_key_id:
            self._note(CONSUMER, ARTICLE_USER, "uses key", key, "reads AWSCURRENT each working day")
            self._pipeline_key_id = key.access_key_id
        arn = self._caller_arn(key)
        if arn != self.created[ARTICLE_USER]["user_arn"]:
            self._note(CONSUMER, ARTICLE_USER, "call FAILED", key, f"sts get-caller-identity answered {arn}")

    def _legacy_batch_job(self, now: dt.datetime) -> None:
        """Reads the secret once and keeps its key until a call fails; then it reads AWSCURRENT again."""
        if BATCH_USER in self.deleted or not self._alive(BATCH_USER, now) or self._legacy_key is None:
            return
        key = self._legacy_key
        if self._caller_arn(key) == self.created[BATCH_USER]["user_arn"]:
            return
        fresh = self._read_current(BATCH_USER)
        self._note(
            LEGACY_CONSUMER,
            BATCH_USER,
            "call failed; re-read secret",
            key,
            f"key refused; switches to {fresh.access_key_id if fresh else 'nothing (no AWSCURRENT)'}",
        )
        self._legacy_key = fresh

    def check_working_keys(self, now: dt.datetime) -> None:
        current_versions = self._current_versions()
        for user in MANAGED_USERS:
            name = user.user_name
            if name not in self.created or name in self.deleted or not self._alive(name, now):
                continue
            day = day_number(now, self.start)
            secret_name = SECRET_PREFIX + name
            # Read as the README tells consumers to (no stage, no version id): AWS answers the AWSCURRENT version.
            read = self._read_current_version(name)
            version_id = read[0] if read else None
            if version_id is None:
                self.working_key.check(False, f"day {day}: {name} has no readable secret")
                continue
            self.working_key.check(
                version_id == current_versions.get(secret_name),
                f"day {day}: {name}'s secret read without a stage answered {version_id}, not its AWSCURRENT version",
            )
            key = read[1] if read else None
            if not self.working_key.check(key is not None, f"day {day}: {name}'s AWSCURRENT holds no access key"):
                continue
            assert key is not None
            self.working_key.check(
                version_id.startswith(key.access_key_id + "-"),
                f"day {day}: {name}'s AWSCURRENT version {version_id} does not name the key it holds",
            )
            if user.keys_used:
                arn = self._caller_arn(key)
                self.working_key.check(
                    arn == self.created[name]["user_arn"],
                    f"day {day}: {name}'s current key {key.access_key_id} does not work (caller {arn})",
                )
            else:
                # Signing with an idle user's key would make it used, and the stale rule must see it unused:
                # its key is checked to be the user's active key instead.
                keys = self._iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
                active = {k["AccessKeyId"] for k in keys if k["Status"] == "Active"}
                self.working_key.check(
                    key.access_key_id in active,
                    f"day {day}: {name}'s current key {key.access_key_id} is not an active key of the user",
                )

    def _alive(self, user_name: str, now: dt.datetime) -> bool:
        expires = self.created.get(user_name, {}).get("expires_at")
        if not expires:
            return True
        return now < _parse_time(str(expires))

    # --- reading keys --------------------------------------------------------------------------------------------

    def _current_versions(self) -> dict[str, str]:
        """Secret name -> its AWSCURRENT version id. Every version seen is read once, so each secret access key
        the functions stored (even one that never became current) is known to the leak check."""
        found = {}
        paginator = self._secretsmanager.get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [SECRET_PREFIX]}]):
            for secret in page.get("SecretList", []):
                for version_id, stages in (secret.get("SecretVersionsToStages") or {}).items():
                    self._stored_key(secret["Name"], version_id)
                    if "AWSCURRENT" in stages:
                        found[secret["Name"]] = version_id
        return found

    def _stored_key(self, secret_name: str, version_id: str) -> StoredKey | None:
        """The key a secret version holds; versions never change, so each is read once."""
        if version_id not in self._stored:
            value = self._secretsmanager.get_secret_value(SecretId=secret_name, VersionId=version_id)
            # The record the create and rotate functions store (gateways/secrets.py `key_record`).
            document = json.loads(value["SecretString"])
            access_key_id = document.get("access_key_id")
            secret_access_key = document.get("secret_access_key")
            self.secrets.add(secret_access_key)
            valid = isinstance(access_key_id, str) and isinstance(secret_access_key, str)
            self._stored[version_id] = StoredKey(version_id, access_key_id, secret_access_key) if valid else None
        return self._stored[version_id]

    def _read_current_version(self, user_name: str) -> tuple[str, StoredKey | None] | None:
        """The version a consumer gets reading the secret the README's way (no stage, no version id), and its key."""
        secret_name = SECRET_PREFIX + user_name
        try:
            value = self._secretsmanager.get_secret_value(SecretId=secret_name)
        except ClientError:
            return None
        return value["VersionId"], self._stored_key(secret_name, value["VersionId"])

    def _read_current(self, user_name: str) -> StoredKey | None:
        read = self._read_current_version(user_name)
        return read[1] if read else None

    def _caller_arn(self, key: StoredKey) -> str | None:
        """Who AWS says is calling with this key; asked once per key and moment (a consumer and the check agree)."""
        now = self.account.now
        if any(moment != now for _, moment in self._answers):
            self._answers = {}
        asked = (key.access_key_id, now)
        if asked not in self._answers:
            self._answers[asked] = self._ask_caller(key)
        return self._answers[asked]

    def _ask_caller(self, key: StoredKey) -> str | None:
        client = self._sts_clients.get(key.access_key_id)
        if client is None:
            client = self.account.client(
                "sts",
                credentials={"AccessKeyId": key.access_key_id, "SecretAccessKey": key.secret_access_key},
            )
            self._sts_clients[key.access_key_id] = client
        try:
            return str(client.get_caller_identity()["Arn"])
        except ClientError as error:
            return f"refused: {error.response.get('Error', {}).get('Code', 'error')}"

    # --- out of scope --------------------------------------------------------------------------------------------

    def snapshot_out_of_scope(self) -> dict[str, Any]:
        """What each out-of-scope user holds (every user that existed before the story created managed ones, the
        account's own administrator included); last-used dates are left out: using a key is not changing it."""
        iam = self._iam
        if not self._out_of_scope_names:
            pages = iam.get_paginator("list_users").paginate()
            self._out_of_scope_names = sorted(u["UserName"] for page in pages for u in page["Users"])
        state: dict[str, Any] = {}
        for name in self._out_of_scope_names:
            try:
                user = iam.get_user(UserName=name)["User"]
            except ClientError as error:
                state[name] = {"error": error.response.get("Error", {}).get("Code")}
                continue
            keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
            state[name] = {
                "arn": user["Arn"],
                "path": user["Path"],
                "tags": sorted((t["Key"], t["Value"]) for t in user.get("Tags", [])),
                "keys": sorted((k["AccessKeyId"], k["Status"], str(k["CreateDate"])) for k in keys),
                "groups": sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=name)["Groups"]),
                "inline_policies": sorted(iam.list_user_policies(UserName=name)["PolicyNames"]),
                "attached_policies": sorted(
                    p["PolicyArn"] for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]
                ),
            }
        return state

    def _compare_out_of_scope(self) -> None:
        for name, before in self.out_of_scope_before.items():
            after = self.out_of_scope_after.get(name)
            self.out_of_scope.check(before == after, f"{name} changed: before {before}, after {after}")

    # --- the record ----------------------------------------------------------------------------------------------

    def _note(self, actor: str, user_name: str, action: str, key: StoredKey | str | None, reason: str) -> None:
        now = self.account.now
        key_id = key.access_key_id if isinstance(key, StoredKey) else key
        status = "warning" if "FAILED" in action or "failed" in action else "done"
        self.rows.append(
            TimelineRow(
                day=day_number(now, self.start),
                time=now,
                function=actor,
                source="story",
                user_name=user_name,
                action=action,
                access_key_id=key_id,
                reason=reason,
                status=status,
                order=2 * len(self.account.invocations),
            )
        )

    def expiries(self) -> dict[str, dt.datetime]:
        """Each created user's expiry as the create function reported it (the `expires-at` tag)."""
        found = {}
        for name, result in self.created.items():
            if result.get("expires_at"):
                found[name] = _parse_time(str(result["expires_at"]))
        return found

    def out_of_scope_spans(self, inventory: dict[str, Any]) -> list[KeySpan]:
        """Keys of the story's users outside the managed scope, drawn grey from their creation to the end."""
        spans = []
        for user in inventory.get("users", []):
            if user["managed"] or user["user_name"] not in (ADMIN_USER, UNMANAGED_IN_PATH_USER):
                continue
            for key in user["keys"]:
                created = _parse_time(key["created"]) if key.get("created") else self.start
                spans.append(KeySpan(user["user_name"], key["access_key_id"], created, managed=False))
        return spans

    def invariants(self) -> list[Invariant]:
        notified = [self.notified_once] if self.single_account else []
        return [self.working_key, self.runs_succeeded, self.out_of_scope, *notified, self.no_secret_leak]

    def inventory(self) -> dict[str, Any]:
        """The final state of every user, as the administrator lists it (ids, dates, tags, secret stages; no
        secret), and the inventory reports of the create function half-way and at the end."""
        self.inventory_reports["final"] = self._inventory_report()
        iam = self._iam
        users = []
        versions = {}
        paginator = self._secretsmanager.get_paginator("list_secrets")
        for page in paginator.paginate(Filters=[{"Key": "name", "Values": [SECRET_PREFIX]}]):
            for secret in page.get("SecretList", []):
                versions[secret["Name"]] = secret.get("SecretVersionsToStages") or {}
        for page in iam.get_paginator("list_users").paginate():
            for user in page["Users"]:
                name = user["UserName"]
                tags = iam.list_user_tags(UserName=name)["Tags"]
                keys = []
                for key in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
                    last = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
                    keys.append(
                        {
                            "access_key_id": key["AccessKeyId"],
                            "status": key["Status"],
                            "created": _iso(key["CreateDate"]),
                            "last_used": _iso(last.get("LastUsedDate")),
                        }
                    )
                managed = user["Path"] == MANAGED_PATH and any(t["Key"] == "managed-by" for t in tags)
                users.append(
                    {
                        "user_name": name,
                        "path": user["Path"],
                        "managed": managed,
                        "created": _iso(user["CreateDate"]),
                        "tags": {t["Key"]: t["Value"] for t in tags},
                        "keys": keys,
                        "secret_versions": versions.get(SECRET_PREFIX + name, {}) if managed else {},
                    }
                )
        advice = self.invoke("rotate_keys", {"action": "advise"})
        return {
            "users": users,
            "secrets": sorted(versions),
            "function_reports": self.inventory_reports,
            "advice": advice.get("advice") if isinstance(advice, dict) else None,
        }


def _policy(action: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")
    return str(value)


def _self_signed_certificate(common_name: str) -> str:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=800))
        .sign(private, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _ssh_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return body.decode() + " demo@example.com"
