"""The boto3 session and clients of one cold start, and the gateways built on them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from key_lifecycle.gateways.advisor_state import AdvisorStateGateway
from key_lifecycle.gateways.conditions import ConditionStore
from key_lifecycle.gateways.errors import call
from key_lifecycle.gateways.events import EventPublisher
from key_lifecycle.gateways.iam import IamGateway
from key_lifecycle.gateways.locks import LockGateway
from key_lifecycle.gateways.notify import Notifier
from key_lifecycle.gateways.organizations import OrganizationsGateway
from key_lifecycle.gateways.posture import PostureGateway
from key_lifecycle.gateways.results import ResultReader
from key_lifecycle.gateways.secrets import SecretsGateway
from key_lifecycle.gateways.securityhub import FindingsGateway
from key_lifecycle.gateways.sts import CLIENT_LOCK, KeyVerifier
from key_lifecycle.gateways.trail import LookupBudget, TrailGateway
from key_lifecycle.models.constants import SPOKE_PATH, SPOKE_ROLE_NAME_PREFIX

# Assumed credentials are reused while they outlive the longest invocation (15 minutes) with room to spare.
_CREDENTIALS_MARGIN = timedelta(minutes=20)

# Throttling and 5xx are retried by botocore (adaptive mode also slows down on throttling), never by hand.
CLIENT_CONFIG = Config(retries={"mode": "adaptive", "max_attempts": 10}, connect_timeout=5, read_timeout=30)


class Aws:
    """Clients are created on first use and kept for the life of the execution environment. The endpoint
    comes from the environment (boto3 honours AWS_ENDPOINT_URL), so the same code runs against an emulator."""

    def __init__(
        self,
        session: boto3.session.Session | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.session = session or boto3.session.Session()
        self._sleep = sleep
        self._clock = clock
        # Organization mode: a member account's Aws keeps the hub's (this deployment's) locks, notifications and
        # events, and names its lock keys by account.
        self.hub: Aws | None = None
        self.account_id: str | None = None
        self._members: dict[tuple[str, str], tuple[Aws, datetime]] = {}
        self._members_lock = threading.Lock()

    @property
    def region(self) -> str:
        """The region the clients talk to (the function's own)."""
        return str(self.session.region_name or "")

    def client(self, service: str) -> Any:
        with CLIENT_LOCK:
            return self.session.client(service, config=CLIENT_CONFIG)

    @cached_property
    def iam(self) -> IamGateway:
        return IamGateway(self.client("iam"))

    @cached_property
    def secrets(self) -> SecretsGateway:
        return SecretsGateway(self.client("secretsmanager"))

    @cached_property
    def verifier(self) -> KeyVerifier:
        return KeyVerifier(self.session, sleep=self._sleep, clock=self._clock)

    @cached_property
    def notifier(self) -> Notifier:
        return self.hub.notifier if self.hub is not None else Notifier(self.client("sns"))

    @cached_property
    def _dynamodb(self) -> Any:
        return self.client("dynamodb")

    def locks(self, table_name: str) -> LockGateway:
        if self.hub is not None:
            # The hub's one lock table serves every account: keys `<account id>/<user name>`.
            return LockGateway(self.hub._dynamodb, table_name, key_prefix=f"{self.account_id}/")
        return LockGateway(self._dynamodb, table_name)

    def advisor_state(self, table_name: str) -> AdvisorStateGateway:
        """The advisor's memory, in the hub's lock table (organization mode: one item per account)."""
        if self.hub is not None:
            return AdvisorStateGateway(self.hub._dynamodb, table_name, key_prefix=f"{self.account_id}/")
        return AdvisorStateGateway(self._dynamodb, table_name)

    @cached_property
    def trail(self) -> TrailGateway:
        return TrailGateway(self.client("cloudtrail"))

    def lookup_budget(self, requests: int) -> LookupBudget:
        """A run's LookupEvents budget, paced with this environment's sleep."""
        return LookupBudget(requests, sleep=self._sleep)

    def conditions(self, table_name: str) -> ConditionStore:
        """The notified open conditions, in the lock table (the hub's, per account, in organization mode)."""
        if self.hub is not None:
            return ConditionStore(self.hub._dynamodb, table_name, key_prefix=f"{self.account_id}/")
        return ConditionStore(self._dynamodb, table_name)

    @cached_property
    def events(self) -> EventPublisher:
        return self.hub.events if self.hub is not None else EventPublisher(self.client("events"))

    @cached_property
    def findings(self) -> FindingsGateway:
        return FindingsGateway(self.client("securityhub"))

    @cached_property
    def organizations(self) -> OrganizationsGateway:
        return OrganizationsGateway(self.client("organizations"))

    @cached_property
    def results(self) -> ResultReader:
        return ResultReader(self.client("s3"))

    def key_arn(self, key_id: str) -> str:
        """A KMS key's ARN from its id or alias (DescribeKey)."""
        return str(call(self.client("kms"), "DescribeKey", KeyId=key_id)["KeyMetadata"]["Arn"])

    @cached_property
    def caller_account_id(self) -> str:
        """The account these clients act in (STS GetCallerIdentity, once per environment)."""
        return str(call(self.client("sts"), "GetCallerIdentity")["Account"])

    @cached_property
    def partition(self) -> str:
        """aws, aws-cn, aws-us-gov…: from the region, without a call."""
        region = self.session.region_name or "us-east-1"
        return str(self.session.get_partition_for_region(region))

    def spoke_role_arn(self, account_id: str, function: str) -> str:
        name = SPOKE_ROLE_NAME_PREFIX + function.replace("_", "-")
        return f"arn:{self.partition}:iam::{account_id}:role{SPOKE_PATH}{name}"

    def for_account(self, account_id: str, function: str) -> Aws:
        """The clients of a member account, through its spoke role for `function` (STS AssumeRole). Kept while its
        credentials last, so one invocation assumes the role once; raises AwsError when the role cannot be assumed."""
        with self._members_lock:
            cached = self._members.get((account_id, function))
            if cached is not None and cached[1] - datetime.now(UTC) > _CREDENTIALS_MARGIN:
                return cached[0]
            answer = call(
                self.client("sts"),
                "AssumeRole",
                RoleArn=self.spoke_role_arn(account_id, function),
                # Names the function in the member account's CloudTrail (64 characters at most).
                RoleSessionName=f"iam-key-lifecycle-{function.replace('_', '-')}"[:64],
            )
            credentials = answer["Credentials"]
            with CLIENT_LOCK:
                session = boto3.Session(
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    aws_session_token=credentials["SessionToken"],
                    region_name=self.session.region_name,
                )
            member = Aws(session, sleep=self._sleep, clock=self._clock)
            member.hub, member.account_id = self, account_id
            expiration = credentials["Expiration"]
            if expiration.tzinfo is None:
                expiration = expiration.replace(tzinfo=UTC)
            self._members[(account_id, function)] = (member, expiration)
            return member

    @cached_property
    def posture(self) -> PostureGateway:
        return PostureGateway(self.client("iam"), sleep=self._sleep)
