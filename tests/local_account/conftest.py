"""Fixtures for the emulator's AWS-fidelity patches: moto in process (or its server on 127.0.0.1), dummy
credentials, the patches switched on, and principals whose policies are enforced."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from local_account.emulator import aws_fidelity
from tests.local_account.emulator_helpers import REGION, policy


@pytest.fixture(autouse=True)
def _dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in process with the local account's AWS-fidelity patches on."""
    with mock_aws(), aws_fidelity():
        yield


@pytest.fixture
def managed_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS managed policies (IAMReadOnlyAccess, ...) exist, as in a real account. Request before `aws`."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")


@pytest.fixture
def iam(aws: None) -> Any:
    return boto3.client("iam", region_name=REGION)


Principal = Callable[..., boto3.Session]


@pytest.fixture
def principal(aws: None) -> Iterator[Principal]:
    """`principal(*statements)` → a boto3 session of a new IAM user holding exactly that policy.
    Create every principal and fixture resource first, then `with enforced():` make the calls."""
    iam = boto3.client("iam", region_name=REGION)
    count = 0

    def make(*statements: dict[str, Any]) -> boto3.Session:
        nonlocal count
        count += 1
        name = f"caller-{count}"
        iam.create_user(UserName=name, Path="/callers/")
        iam.put_user_policy(UserName=name, PolicyName="under-test", PolicyDocument=policy(*statements))
        key = iam.create_access_key(UserName=name)["AccessKey"]
        return boto3.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        )

    yield make


@pytest.fixture
def enforced() -> Callable[[], Any]:
    """IAM policy enforcement: inside the block, every request is judged against the caller's policies."""
    return enable_iam_authentication
