"""Reliability tests run the handlers against moto in process, with a crash injector on the functions' session
and the per-user lock table in place."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from reliability_account import LOCK_TABLE, CrashInjector, World

from handlers.common import get_aws, reset_cold_start
from tests.integration.moto_account import GROUP, REGION, FakeClock, FakeLambdaContext, Faults


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    with mock_aws():
        faults, clock, crash = Faults(), FakeClock(), CrashInjector()
        world = World(FakeLambdaContext(), faults, clock, crash)
        boto3.client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("TEMPORARY_USER_GROUP", GROUP)
        monkeypatch.setenv("PERMISSIONS_BOUNDARY_ARN", world.boundary_arn)
        monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", world.topic_arn)
        monkeypatch.setenv("VERIFY_TIMEOUT_SECONDS", "5")
        monkeypatch.setenv("LOCK_TABLE_NAME", LOCK_TABLE)
        reset_cold_start()
        aws = get_aws()
        # On the session before any client exists, so every client the functions create (STS included) has them.
        aws.session.events.register("before-parameter-build", faults.record)
        aws.session.events.register("before-call", crash.before_call)
        aws.session.events.register("before-call", faults.before_call)
        aws.session.events.register("after-call", faults.after_call)
        aws.session.events.register("after-call", crash.after_call)
        aws.verifier.sleep, aws.verifier.clock = clock.sleep, clock.monotonic
        yield world
        reset_cold_start()
