"""Reliability tests run the handlers against moto in process, with a crash injector on the functions' session
and the per-user lock table in place."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from key_lifecycle.handlers.common import reset_cold_start
from tests.reliability.reliability_account import LOCK_TABLE, CrashInjector, World
from tests.support.moto_account import FakeClock, Faults, use_dummy_aws, wire_functions


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    use_dummy_aws(monkeypatch)


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext) -> Iterator[World]:
    with mock_aws():
        crash = CrashInjector()
        world = World(lambda_context, Faults(), FakeClock(), crash)
        boto3.client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        # The crash injector sees a call before the faults do (a killed run sends nothing) and after them (an
        # issued key is recorded before its caller is told the call failed).
        wire_functions(
            monkeypatch,
            world,
            env={"LOCK_TABLE_NAME": LOCK_TABLE},
            before_call=[crash.before_call],
            after_call=[crash.after_call],
        )
        yield world
        reset_cold_start()
