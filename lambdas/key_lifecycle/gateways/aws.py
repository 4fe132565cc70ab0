"""The boto3 session and clients of one cold start, and the gateways built on them."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

from key_lifecycle.gateways.events import EventPublisher
from key_lifecycle.gateways.iam import IamGateway
from key_lifecycle.gateways.locks import LockGateway
from key_lifecycle.gateways.notify import Notifier
from key_lifecycle.gateways.posture import PostureGateway
from key_lifecycle.gateways.secrets import SecretsGateway
from key_lifecycle.gateways.sts import CLIENT_LOCK, KeyVerifier

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
        return Notifier(self.client("sns"))

    @cached_property
    def _dynamodb(self) -> Any:
        return self.client("dynamodb")

    def locks(self, table_name: str) -> LockGateway:
        return LockGateway(self._dynamodb, table_name)

    @cached_property
    def events(self) -> EventPublisher:
        return EventPublisher(self.client("events"))

    @cached_property
    def posture(self) -> PostureGateway:
        return PostureGateway(self.client("iam"), sleep=self._sleep)
