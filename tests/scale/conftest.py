"""Scale tests run moto in process with IAM's paging and credential report installed, and the functions' AWS calls
recorded."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from key_lifecycle.handlers.common import get_aws, reset_cold_start
from local_account.emulator import paging
from tests.scale.scale_helpers import Calls


@pytest.fixture
def moto_account(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "VERIFY_TIMEOUT_SECONDS": "5",
    }.items():
        monkeypatch.setenv(name, value)
    paging.install()
    with mock_aws():
        reset_cold_start()
        calls = Calls()
        calls.watch(get_aws().session.events)
        yield calls
        reset_cold_start()
