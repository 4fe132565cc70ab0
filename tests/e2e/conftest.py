"""The stack deployed once into the local account, and one simulated year of its schedules shared by the
e2e tests: what the account looked like every day, what every consumer saw, what every run reported."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_account import Invocation, LocalAccount
from local_account.trail import Delivery, root_identity
from tests.support.credentials import CERTIFICATE, SSH_PUBLIC_KEY

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, 00:00 UTC
# Outside us-east-1, where IAM's CloudTrail events arrive: they reach the stack through the forwarding stack.
REGION = "eu-west-1"
DAYS = 365
MANAGED_PATH = "/temporary/"
MANAGED_BY = "iam-key-lifecycle"
ADMIN_ARN = "arn:aws:iam::123456789012:user/administrator"
CONTEXT: dict[str, Any] = {
    # Reconcile daily instead of hourly: the same code path, a year in about a minute.
    "reconcile_schedule": "cron(0 7 * * ? *)",
    "rotate_schedule": "cron(0 9 ? * MON-FRI *)",
    "cleanup_schedule": "cron(0 6 * * ? *)",
    "max_ttl_days": 400,
    "secret_readers": [ADMIN_ARN],
    # A key made by hand on a managed user is deactivated, not only reported (notify-only, the default, is
    # covered in process by tests/integration). Only calls delivered by the change rule are affected: the year's
    # own runs never go through it.
    "out_of_band_key_response": "deactivate",
    # Cleanup may take users out of the groups under this path (the stack's own group always): each user's team.
    "removable_group_path": "/teams/",
}

# The story's users. Every one is created by the manual create invoke at START.
ROTATED = "temporary-iam-user"  # its consumer always reads AWSCURRENT: plain rotations
LEGACY = "legacy-pipeline"  # its consumer keeps the first key it read: postponement, then the hard cap
SHORT_LIVED = "short-lived"  # 10-day TTL and every credential kind: deleted at expiry
FORGOTTEN = "forgotten"  # every credential kind, key never used: deleted as stale
MANAGED_USERS = {ROTATED: 400, LEGACY: 400, SHORT_LIVED: 10, FORGOTTEN: 400}
NEVER_USED = {FORGOTTEN}
# Users the stack must never touch: outside the path, in the path without the tag, another deployment's.
OUT_OF_SCOPE = {
    "ops-admin": ("/admin/", []),
    "in-path-untagged": (MANAGED_PATH, []),
    "other-deployment": (MANAGED_PATH, [{"Key": "managed-by", "Value": "another-stack"}]),
}
OWNER = "platform-team@example.com"


@dataclass(frozen=True)
class KeyState:
    access_key_id: str
    status: str
    created: datetime


@dataclass(frozen=True)
class UserDay:
    """One managed user's state at 00:00 of a day."""

    keys: tuple[KeyState, ...]  # in creation order
    versions: dict[str, tuple[str, ...]]  # secret version id → stages
    secret_deleted: bool
    expires_at: datetime | None


@dataclass(frozen=True)
class Notification:
    """One message of the stack's SNS topic, as an owner's SQS subscription received it."""

    sent: datetime
    subject: str
    message: str
    attributes: dict[str, str]

    @property
    def kind(self) -> str | None:
        return self.attributes.get("kind")

    def body(self) -> Any:
        return json.loads(self.message)


class Inbox:
    """An owner's subscription to the stack's topic: an SQS queue with the filter policy `{"owner": [owner]}`,
    drained often enough that nothing outlives the queue's 14-day retention on the virtual clock."""

    def __init__(self, account: LocalAccount, owner: str) -> None:
        self._sqs = account.admin_client("sqs")
        self._url = self._sqs.create_queue(
            QueueName="owner-notifications", Attributes={"MessageRetentionPeriod": str(14 * 86400)}
        )["QueueUrl"]
        queue_arn = self._sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])["Attributes"]
        account.admin_client("sns").subscribe(
            TopicArn=account.stack_outputs["NotificationTopicArn"],
            Protocol="sqs",
            Endpoint=queue_arn["QueueArn"],
            Attributes={"FilterPolicy": json.dumps({"owner": [owner]})},
        )
        self.received: list[Notification] = []

    def drain(self) -> list[Notification]:
        """Every message waiting in the queue (then deleted from it), also appended to `received`."""
        new: list[Notification] = []
        while messages := self._sqs.receive_message(QueueUrl=self._url, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                envelope = json.loads(message["Body"])  # SNS's JSON envelope: subject, timestamp, attributes
                new.append(
                    Notification(
                        sent=datetime.fromisoformat(envelope["Timestamp"].replace("Z", "+00:00")),
                        subject=envelope.get("Subject", ""),
                        message=envelope["Message"],
                        attributes={k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()},
                    )
                )
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )
        self.received += new
        return new


@dataclass
class Year:
    account: LocalAccount
    created: dict[str, Any] = field(default_factory=dict)  # user → the manual create's result
    days: dict[int, dict[str, UserDay]] = field(default_factory=dict)  # day → user → state
    checks: list[tuple[int, str]] = field(default_factory=list)  # (day, user) whose current key was checked
    failures: list[str] = field(default_factory=list)  # every broken "current key works" invariant
    legacy_calls: list[tuple[int, str]] = field(default_factory=list)  # (day, "ok" or error code)
    secrets_seen: set[str] = field(default_factory=set)  # every secret access key read back
    out_of_scope_before: dict[str, Any] = field(default_factory=dict)
    scheduled: list[Invocation] = field(default_factory=list)
    seconds: float = 0.0
    stored: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # secret version id → its record
    inbox: Inbox | None = None  # OWNER's subscription to the stack's notifications
    root_key: dict[str, Any] = field(default_factory=dict)  # the root access key created at START
    root_key_deliveries: list[Delivery] = field(default_factory=list)  # its CloudTrail event, as the rule delivered it

    def state(self, day: int, user: str) -> UserDay | None:
        return self.days.get(day, {}).get(user)

    def first_day(self, user: str, predicate: Any) -> int | None:
        for day in sorted(self.days):
            state = self.days[day].get(user)
            if state is not None and predicate(state):
                return day
        return None


def out_of_scope_state(account: LocalAccount) -> dict[str, Any]:
    iam = account.admin_client("iam")
    state = {}
    for name in OUT_OF_SCOPE:
        user = iam.get_user(UserName=name)["User"]
        keys = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
        state[name] = {
            "path": user["Path"],
            "tags": sorted((t["Key"], t["Value"]) for t in user.get("Tags", [])),
            "keys": sorted((k["AccessKeyId"], k["Status"]) for k in keys),
        }
    return state


@pytest.fixture(scope="package")
def account() -> Iterator[LocalAccount]:
    """The stack, synthesized with CONTEXT, bootstrapped and deployed by the CDK CLI into a fresh local
    account at START, with the out-of-scope users an account already has."""
    with LocalAccount.deploy(context=CONTEXT, start=START, region=REGION) as deployed:
        iam = deployed.admin_client("iam")
        for name, (path, tags) in OUT_OF_SCOPE.items():
            iam.create_user(UserName=name, Path=path, Tags=tags)
            iam.create_access_key(UserName=name)
        yield deployed


def _give_every_credential_kind(account: LocalAccount, user: str) -> None:
    iam = account.admin_client("iam")
    iam.create_login_profile(UserName=user, Password="A-long-enough-passw0rd!")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=f"{user}-mfa")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.upload_ssh_public_key(UserName=user, SSHPublicKeyBody=SSH_PUBLIC_KEY)
    iam.upload_signing_certificate(UserName=user, CertificateBody=CERTIFICATE)
    iam.create_service_specific_credential(UserName=user, ServiceName="codecommit.amazonaws.com")
    document = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}
    )
    iam.put_user_policy(UserName=user, PolicyName="hand-made", PolicyDocument=document)
    policy_arn = f"arn:aws:iam::123456789012:policy/{user}-extra"
    iam.create_policy(PolicyName=f"{user}-extra", PolicyDocument=document)
    iam.attach_user_policy(UserName=user, PolicyArn=policy_arn)
    iam.create_group(GroupName=f"{user}-team", Path="/teams/")
    iam.add_user_to_group(GroupName=f"{user}-team", UserName=user)


def _current_key(account: LocalAccount, user: str) -> dict[str, Any] | None:
    secrets = account.admin_client("secretsmanager")
    try:
        value = secrets.get_secret_value(SecretId=f"temporary-iam-users/{user}")
    except ClientError:
        return None
    record: dict[str, Any] = json.loads(value["SecretString"])
    return record


def _key_works_without_use(user: str, record: dict[str, Any]) -> bool:
    # A check signed with the key would count as its use and keep a stale user alive; ask IAM's own store.
    from moto.iam.models import iam_backends

    key = iam_backends["123456789012"]["aws"].access_keys.get(record["access_key_id"])
    return (
        key is not None
        and key.user_name == user
        and key.status == "Active"
        and key.secret_access_key == record["secret_access_key"]
    )


def _stored_key(year: Year, user: str, versions: dict[str, tuple[str, ...]], deleted: bool) -> dict[str, Any] | None:
    """The key record a consumer gets reading the user's secret as the README says (no stage, no version id: AWS
    answers the AWSCURRENT version); None when that is not the one version holding AWSCURRENT. A secret scheduled
    for deletion cannot be read at all."""
    current = [version for version, stages in versions.items() if "AWSCURRENT" in stages]
    if deleted or len(current) != 1:
        return None
    secrets = year.account.admin_client("secretsmanager")
    try:
        value = secrets.get_secret_value(SecretId=f"temporary-iam-users/{user}")
    except ClientError:
        return None
    if value["VersionId"] != current[0]:
        return None
    if current[0] not in year.stored:
        year.stored[current[0]] = json.loads(value["SecretString"])
    return year.stored[current[0]]


def _observe(year: Year, day: int) -> None:
    account = year.account
    iam = account.admin_client("iam")
    secrets = account.admin_client("secretsmanager")
    details = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
    managed = {
        u["UserName"]: u
        for u in details
        if u["Path"] == MANAGED_PATH and {"Key": "managed-by", "Value": MANAGED_BY} in u.get("Tags", [])
    }
    # Every secret's stages in one listing (those scheduled for deletion too), as DescribeSecret shows them.
    listed = {
        secret["Name"]: secret
        for page in secrets.get_paginator("list_secrets").paginate(
            IncludePlannedDeletion=True, Filters=[{"Key": "name", "Values": ["temporary-iam-users/"]}]
        )
        for secret in page["SecretList"]
    }
    today: dict[str, UserDay] = {}
    for name, user in managed.items():
        keys = sorted(iam.list_access_keys(UserName=name)["AccessKeyMetadata"], key=lambda k: k["CreateDate"])
        tags = {t["Key"]: t["Value"] for t in user.get("Tags", [])}
        expires_at = datetime.fromisoformat(tags["expires-at"].replace("Z", "+00:00")) if "expires-at" in tags else None
        secret = listed.get(f"temporary-iam-users/{name}")
        versions = {v: tuple(stages) for v, stages in (secret or {}).get("SecretVersionsToStages", {}).items()}
        deleted = secret is not None and "DeletedDate" in secret
        today[name] = UserDay(
            keys=tuple(KeyState(k["AccessKeyId"], k["Status"], k["CreateDate"]) for k in keys),
            versions=versions,
            secret_deleted=deleted,
            expires_at=expires_at,
        )
        if expires_at is not None and expires_at <= account.now:
            continue  # expired: the invariant no longer holds by design; cleanup deletes it
        record = _stored_key(year, name, versions, deleted)
        year.checks.append((day, name))
        if record is None:
            year.failures.append(f"day {day}: {name} has no AWSCURRENT secret")
            continue
        year.secrets_seen.add(record["secret_access_key"])
        if name in NEVER_USED:
            if not _key_works_without_use(name, record):
                year.failures.append(f"day {day}: {name}'s current key {record['access_key_id']} does not work")
            continue
        try:
            identity = account.client("sts", credentials=record).get_caller_identity()
        except ClientError as exc:
            year.failures.append(f"day {day}: {name}'s current key fails: {exc.response['Error']['Code']}")
            continue
        if identity["Arn"] != user["Arn"]:
            year.failures.append(f"day {day}: {name}'s current key signs as {identity['Arn']}")
    year.days[day] = today


def _legacy_consumer(year: Year, day: int, cached: dict[str, Any]) -> None:
    try:
        year.account.client("sts", credentials=cached).get_caller_identity()
        year.legacy_calls.append((day, "ok"))
    except ClientError as exc:
        year.legacy_calls.append((day, exc.response["Error"]["Code"]))


@pytest.fixture(scope="package")
def year(account: LocalAccount) -> Year:
    """Day 0: the manual creates; then 365 days of the deployed schedules, observed every day at 00:00."""
    inbox = Inbox(account, OWNER)
    simulated = Year(account=account, out_of_scope_before=out_of_scope_state(account), inbox=inbox)
    # The root user creates itself an access key (with root credentials the emulator does not have: the call is
    # recorded by hand); CloudTrail records it and the change rule delivers it.
    with account.cloudtrail() as trail:
        simulated.root_key = account.create_root_access_key()
        trail.record(
            "CreateAccessKey", None, {"AccessKey": simulated.root_key}, identity=root_identity(account.account_id)
        )
    simulated.root_key_deliveries = trail.deliveries
    for user, ttl in MANAGED_USERS.items():
        simulated.created[user] = account.invoke(
            "create_keys", {"action": "create_user", "user_name": user, "owner": OWNER, "ttl_days": ttl}
        )
    for user in (SHORT_LIVED, FORGOTTEN):
        _give_every_credential_kind(account, user)
    legacy_key = _current_key(account, LEGACY)
    assert legacy_key is not None, simulated.created[LEGACY]
    simulated.secrets_seen.add(legacy_key["secret_access_key"])
    _observe(simulated, 0)
    started = time.perf_counter()
    for day in range(1, DAYS + 1):
        simulated.scheduled += account.advance_to(START + timedelta(days=day))
        _legacy_consumer(simulated, day, legacy_key)
        _observe(simulated, day)
        if day % 7 == 0 or day == DAYS:
            inbox.drain()
    simulated.seconds = time.perf_counter() - started
    return simulated
