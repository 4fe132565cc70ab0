"""Handler tests against moto in process: dummy credentials, settings from the environment, and an account
with the stack's group, boundary policy and notification topic already in place."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import botocore.loaders
import botocore.session
import pytest
from moto import mock_aws
from moto_account import GROUP, REGION, Account, FakeClock, FakeLambdaContext, Faults

from handlers.common import get_aws, reset_cold_start

# Service models parsed once for the whole run: each test's fresh session (a cold start) would parse them again.
_SHARED_LOADER = botocore.loaders.create_loader()
_Session = boto3.session.Session


def _session_with_shared_models() -> _Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _SHARED_LOADER)
    return _Session(botocore_session=core)


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@pytest.fixture(autouse=True)
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # Dummy credentials and no endpoint: every call is answered by moto in this process.
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # A Lambda role's credentials carry a session token; the key verification must not send it along.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, lambda_context: FakeLambdaContext) -> Iterator[Account]:
    with mock_aws():
        faults, clock = Faults(), FakeClock()
        account = Account(lambda_context, faults, clock)
        monkeypatch.setenv("TEMPORARY_USER_GROUP", GROUP)
        monkeypatch.setenv("PERMISSIONS_BOUNDARY_ARN", account.boundary_arn)
        monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", account.topic_arn)
        monkeypatch.setenv("VERIFY_TIMEOUT_SECONDS", "5")
        monkeypatch.setattr(boto3.session, "Session", _session_with_shared_models)
        reset_cold_start()
        aws = get_aws()
        # Registered on the session before any client exists, so every client the functions create has them.
        aws.session.events.register("before-parameter-build", faults.record)
        aws.session.events.register("before-call", faults.before_call)
        aws.session.events.register("after-call", faults.after_call)
        aws.verifier.sleep, aws.verifier.clock = clock.sleep, clock.monotonic
        yield account
        reset_cold_start()
