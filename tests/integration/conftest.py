"""Handler tests against moto in process: dummy credentials, settings from the environment, and an account
with the stack's group, boundary policy and notification topic already in place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from key_lifecycle.handlers.common import reset_cold_start
from tests.support.moto_account import Account, FakeClock, Faults, use_dummy_aws, wire_functions


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    use_dummy_aws(monkeypatch)


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext) -> Iterator[Account]:
    with mock_aws():
        account = Account(lambda_context, Faults(), FakeClock())
        wire_functions(monkeypatch, account)
        yield account
        reset_cold_start()
