"""Lambda execution environments on the virtual clock: an invocation soon after the previous one reuses its
environment (settings, clients, role credentials); after the idle timeout, near its credentials' expiry, after a
redeploy or a timeout, it starts cold. Sharing botocore's installed-code data between cold starts changes no client."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from local_account.botocore_patches import shared_botocore_data
from local_account.environments import CREDENTIALS_DURATION, IDLE_TIMEOUT, Environments
from local_account.runtime import DeployedFunction

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FUNCTION = DeployedFunction(
    name="rotate_keys",
    function_name="Stack-RotateKeys",
    function_arn="arn:aws:lambda:us-east-1:123456789012:function:Stack-RotateKeys",
    handler="key_lifecycle.handlers.rotate_keys.lambda_handler",
    environment={"MANAGED_USER_PATH": "/temporary/"},
    role_arn="arn:aws:iam::123456789012:role/Stack-RotateRole",
    memory_mb=256,
    timeout_s=300,
    runtime="python3.12",
    logical_id="RotateKeys",
)


class Sessions:
    """Stands in for AssumeRole: numbered credentials valid for CREDENTIALS_DURATION from `now`."""

    def __init__(self) -> None:
        self.issued = 0
        self.now = START

    def __call__(self) -> tuple[dict[str, str], datetime]:
        self.issued += 1
        return {"AccessKeyId": f"ASIA{self.issued:016d}"}, self.now + CREDENTIALS_DURATION


def _run(environments: Environments, sessions: Sessions, at: datetime, function: DeployedFunction = FUNCTION):
    sessions.now = at
    environment, cold = environments.acquire(function, at, sessions)
    environments.release(environment, at + timedelta(seconds=2))
    return environment, cold


def test_an_invocation_within_the_idle_timeout_is_warm_and_keeps_its_credentials() -> None:
    environments, sessions = Environments(), Sessions()
    first, cold = _run(environments, sessions, START)
    assert cold and first.credentials["AccessKeyId"] == "ASIA0000000000000001"
    # When the function runs again 10 minutes later
    again, cold = _run(environments, sessions, START + timedelta(minutes=10))
    # Then it reuses the environment and its credentials; no new role session is made
    assert not cold and again is first and sessions.issued == 1
    assert environments.warm_starts == 1 and environments.cold_starts == 1


def test_an_invocation_after_the_idle_timeout_starts_cold_with_new_credentials() -> None:
    environments, sessions = Environments(), Sessions()
    _run(environments, sessions, START)
    # When the next run comes a day later (a daily schedule), or just past the idle timeout
    _, cold_next_day = _run(environments, sessions, START + timedelta(days=1))
    _, cold_after_idle = _run(environments, sessions, START + timedelta(days=1) + IDLE_TIMEOUT + timedelta(seconds=3))
    # Then each starts cold with credentials of its own
    assert cold_next_day and cold_after_idle and sessions.issued == 3


def test_an_environment_is_retired_before_its_credentials_could_expire_during_a_run() -> None:
    environments, sessions = Environments(), Sessions()
    first, _ = _run(environments, sessions, START)
    # Given runs every 10 minutes, each within the idle timeout of the previous one
    moments = [START + timedelta(minutes=10 * n) for n in range(1, 12)]
    colds = [_run(environments, sessions, moment)[1] for moment in moments]
    # Then the environment is reused while its credentials outlast a whole run (timeout 300 s), then replaced once
    replaced = colds.index(True)
    assert first.expires - moments[replaced - 1] >= timedelta(seconds=FUNCTION.timeout_s)
    assert first.expires - moments[replaced] < timedelta(seconds=FUNCTION.timeout_s)
    assert colds.count(True) == 1 and sessions.issued == 2


def test_a_redeployed_function_or_a_timed_out_run_starts_cold() -> None:
    environments, sessions = Environments(), Sessions()
    _run(environments, sessions, START)
    # When the function's configuration changed (a redeploy), its next run starts cold
    redeployed = dataclasses.replace(FUNCTION, environment={"MANAGED_USER_PATH": "/other/"})
    assert _run(environments, sessions, START + timedelta(minutes=1), redeployed)[1]
    # And after a run that timed out (Lambda resets the runtime), too
    environments.discard(FUNCTION.name)
    assert _run(environments, sessions, START + timedelta(minutes=2), redeployed)[1]


@pytest.fixture
def dummy_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def test_cold_starts_share_client_classes_but_each_session_has_its_own_clients(dummy_credentials) -> None:
    with shared_botocore_data():
        first = boto3.session.Session().client("iam")
        second = boto3.session.Session().client("iam")
        # A session that customises its client class gets a class of its own
        custom = boto3.session.Session()
        custom.events.register("creating-client-class.iam", _add_marker)
        customised = custom.client("iam")
    # Then the two plain clients share one class but nothing of their own, and the customised one differs
    assert type(first) is type(second) and first is not second
    assert first.meta.events is not second.meta.events
    assert type(customised) is not type(first) and customised.marked() == "marked"
    assert not hasattr(first, "marked")
    # And each client still builds its requests as botocore does (no call is made)
    assert first.meta.service_model.service_name == "iam" and callable(first.list_users)
    assert "AWS_ACCESS_KEY_ID" in os.environ


def _add_marker(class_attributes: dict[str, object], **kwargs: object) -> None:
    class_attributes["marked"] = lambda self: "marked"


def test_a_clients_handlers_never_reach_the_session_or_other_clients(dummy_credentials) -> None:
    seen: list[str] = []
    early, mine, late = (lambda **kwargs: seen.append("early")), (lambda **kwargs: seen.append("first")), None
    with shared_botocore_data():
        session = boto3.session.Session()
        session.events.register("probe.iam", early)
        first, second = session.client("iam"), session.client("iam")
        # When the first client adds a handler and drops the session's, and the session then adds another
        first.meta.events.register("probe.iam", mine)
        first.meta.events.unregister("probe.iam", early)
        late = lambda **kwargs: seen.append("late")  # noqa: E731
        session.events.register("probe.iam", late)
        third = session.client("iam")
    # Then each emitter runs what was registered on it, or on the session before the client was made
    expected = {"first": ["first"], "second": ["early"], "third": ["early", "late"], "session": ["early", "late"]}
    emitters = {"first": first.meta.events, "second": second.meta.events, "third": third.meta.events}
    for name, emitter in {**emitters, "session": session.events}.items():
        seen.clear()
        emitter.emit("probe.iam")
        assert seen == expected[name], name
