"""A local account is a world of its own while open (virtual clock, IAM enforcement, AWS-fidelity patches)
and leaves the process exactly as it found it once closed, so other tests in the process are unaffected."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from moto import settings

from local_account import LocalAccount, LocalAccountError, transport
from local_account.emulator import active

START = datetime(2020, 1, 6, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_host_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def test_an_account_runs_on_its_own_clock_with_iam_enforced_and_then_leaves_no_trace() -> None:
    auth_before = settings.INITIAL_NO_AUTH_ACTION_COUNT
    managed_policies_before = os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES")
    with LocalAccount.empty(start=START) as account:
        # The clock is virtual and moves only when told
        assert account.now == START
        assert account.advance(days=2, hours=3) == []
        assert account.now == START + timedelta(days=2, hours=3)
        with pytest.raises(LocalAccountError):
            account.advance_to(START)
        # The administrator is a real IAM user; anything it creates is dated by the virtual clock
        iam = account.admin_client("iam")
        assert iam.get_user()["User"]["Arn"] == "arn:aws:iam::123456789012:user/administrator"
        created = iam.create_user(UserName="someone")["User"]["CreateDate"]
        assert created == account.now
        # IAM enforcement is on: a key the account does not know is refused
        stranger = account.client("sts", credentials=("AKIAIOSFODNN7EXAMPLE", "not-a-real-secret"))
        with pytest.raises(ClientError) as refused:
            stranger.get_caller_identity()
        assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert active()
        assert account.endpoint_url.startswith("http://localhost:")
    # Then the process is as before: real time, no enforcement, no patches judging, nothing routed
    assert datetime.now(UTC).year > START.year
    assert auth_before == settings.INITIAL_NO_AUTH_ACTION_COUNT
    assert os.environ.get("MOTO_IAM_LOAD_MANAGED_POLICIES") == managed_policies_before
    assert not active()
    assert transport._routes == {}


def test_one_account_at_a_time_per_process() -> None:
    # moto's backends are process-wide: a second account would share (and reset) the first one's state
    with LocalAccount.empty(start=START), pytest.raises(LocalAccountError):
        LocalAccount.empty(start=START)
    # Once closed, a new one can be opened
    with LocalAccount.empty(start=START) as again:
        assert again.now == START
