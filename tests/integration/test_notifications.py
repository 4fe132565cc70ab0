"""Notifications people act on: a condition is told when it opens and when it clears, never while it stays; each
owner gets one message per run about their own users; a crash between publishing and recording repeats a message at
most. Handlers against moto with the lock table, as deployed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from key_lifecycle.handlers.common import reset_cold_start
from key_lifecycle.models.constants import CONDITIONS_KEY_PREFIX, LOCK_KEY_ATTRIBUTE
from tests.support.moto_account import PATH, Account, FakeClock, Faults, wire_functions

START = datetime(2030, 1, 1, 9, tzinfo=UTC)
TABLE = "locks"
ALICE, BOB = "alice@example.com", "bob@example.com"


class Killed(BaseException):
    """The Lambda runtime ends the invocation (a timeout, an out-of-memory): nothing after it runs."""


class KillBeforeRecording:
    """Kills the invocation right before it writes its open conditions (after it has published)."""

    armed = False

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        body = params.get("body") or b""
        body = body.encode() if isinstance(body, str) else body
        if self.armed and model.name == "PutItem" and CONDITIONS_KEY_PREFIX.encode() in body:
            raise Killed("killed before recording the open conditions")


@pytest.fixture
def kill() -> KillBeforeRecording:
    return KillBeforeRecording()


@pytest.fixture
def account(
    monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext, kill: KillBeforeRecording
) -> Iterator[Account]:
    with mock_aws():
        account = Account(lambda_context, Faults(), FakeClock())
        boto3.client("dynamodb").create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": LOCK_KEY_ATTRIBUTE, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": LOCK_KEY_ATTRIBUTE, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        wire_functions(monkeypatch, account, env={"LOCK_TABLE_NAME": TABLE}, before_call=[kill.before_call])
        yield account
        reset_cold_start()


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


def sent_by(account: Account, run: Any) -> list[dict[str, Any]]:
    before = len(account.notifications())
    run()
    return account.notifications()[before:]


def reconcile(account: Account) -> list[dict[str, Any]]:
    return sent_by(account, lambda: account.invoke("create_keys", {"action": "reconcile"}))


def hand_made_user(account: Account, name: str = "hand-made") -> None:
    """A user in the managed path without the managed-by tag: reported by every scheduled run, never changed."""
    account.iam.create_user(UserName=name, Path=PATH)


def test_a_condition_is_told_when_it_opens_and_when_it_clears_never_in_between(account: Account) -> None:
    # Given a user in the managed path that the stack does not manage
    hand_made_user(account)
    # When the reconcile first sees it
    (opened,) = reconcile(account)
    # Then the operator is told, in plain language, once (no owner: the user has none)
    assert opened["attributes"] == {"kind": "operator"}
    assert opened["subject"] == "IAM keys: new warning: unmanaged_in_path on user hand-made"
    assert "- user hand-made: user is under /temporary/" in opened["message"]
    assert "What to do: tag the user managed-by=" in opened["message"]
    # And while it stays as it is, no run repeats it: neither the reconcile nor the other schedules that see it
    assert reconcile(account) == []
    assert sent_by(account, lambda: account.invoke("rotate_keys", {})) == []
    assert sent_by(account, lambda: account.invoke("cleanup_users", {})) == []
    assert reconcile(account) == []

    # When it is fixed (the user is moved out of the managed path)
    account.iam.update_user(UserName="hand-made", NewPath="/people/")
    # Then the runs tell that it cleared, once in all (the first run that no longer sees it tells; the others,
    # which still held it open too, close it silently)
    cleared = reconcile(account)
    cleared += sent_by(account, lambda: account.invoke("rotate_keys", {}))
    cleared += sent_by(account, lambda: account.invoke("cleanup_users", {}))
    assert [n["subject"] for n in cleared] == ["IAM keys: resolved: unmanaged_in_path on user hand-made"]
    assert "open since " in cleared[0]["message"]
    assert reconcile(account) == []


def test_a_crash_between_publishing_and_recording_repeats_the_message_never_loses_it(
    account: Account, kill: KillBeforeRecording
) -> None:
    # Given a new condition, and a run killed after it published and before it recorded the condition
    hand_made_user(account)
    kill.armed = True
    with pytest.raises(Killed):
        reconcile(account)
    told_before_crash = [n["subject"] for n in account.notifications()]
    assert told_before_crash == ["IAM keys: new warning: unmanaged_in_path on user hand-made"]
    # When the next run comes
    kill.armed = False
    again = reconcile(account)
    # Then the condition is told again (a duplicate), recorded this time, and then no more
    assert [n["subject"] for n in again] == told_before_crash
    assert reconcile(account) == []

    # And a crash before recording a clearing tells the clearing again rather than never
    account.iam.update_user(UserName="hand-made", NewPath="/people/")
    kill.armed = True
    with pytest.raises(Killed):
        reconcile(account)
    kill.armed = False
    assert [n["subject"] for n in reconcile(account)] == ["IAM keys: resolved: unmanaged_in_path on user hand-made"]
    assert reconcile(account) == []


def test_each_owner_gets_one_message_about_their_own_users_in_a_run_covering_several(
    account: Account, traveller: time_machine.Traveller
) -> None:
    # Given users of two owners, and one user without an owner in the path
    for name, owner in (("alice-ci", ALICE), ("alice-etl", ALICE), ("bob-ci", BOB)):
        account.create(name, owner=owner, ttl_days=365)
    hand_made_user(account)
    reconcile(account)
    # When the rotation replaces all three users' keys in one run
    traveller.move_to(START + timedelta(days=91))
    sent = sent_by(account, lambda: account.invoke("rotate_keys", {}))
    # Then each owner got exactly one message, filtered by the owner attribute, naming only their users
    by_owner = {n["attributes"].get("owner"): n for n in sent}
    assert len(sent) == len(by_owner) == 2
    assert by_owner[ALICE]["attributes"] == {"owner": ALICE, "kind": "run"}
    assert by_owner[BOB]["attributes"] == {"owner": BOB, "kind": "run"}
    alice, bob = by_owner[ALICE]["message"], by_owner[BOB]["message"]
    assert "user alice-ci" in alice and "user alice-etl" in alice and "bob-ci" not in alice
    assert "user bob-ci" in bob and "alice" not in bob
    assert by_owner[ALICE]["subject"] == f"IAM keys (rotate) for {ALICE}: 2 changes done"
    # And the operator, whose hand-made user is unchanged, is not told again
    assert None not in by_owner


def test_a_manual_run_tells_what_it_did_and_nothing_without_actions(account: Account) -> None:
    account.create("ci", owner=ALICE)
    # A manual run that changes nothing sends nothing (the caller has its report)
    assert sent_by(account, lambda: account.invoke("rotate_keys", {"user_name": "ci"})) == []
    # A manual forced rotation tells the owner what it did
    (told,) = sent_by(account, lambda: account.invoke("rotate_keys", {"user_name": "ci", "force": True}))
    assert told["attributes"] == {"owner": ALICE, "kind": "run"}
    assert "new access key created and stored in the user's secret" in told["message"]


def test_when_the_record_cannot_be_read_every_warning_is_told_and_the_operator_hears_why(account: Account) -> None:
    # Given a condition already told and recorded
    hand_made_user(account)
    reconcile(account)
    # When the record cannot be read (the table refuses)
    account.faults.fail("GetItem")
    (told,) = reconcile(account)
    # Then the condition is told again rather than possibly lost, and the operator reads why
    assert told["attributes"] == {"kind": "operator"}
    assert "- user hand-made: user is under /temporary/" in told["message"]
    assert "Run errors (for the operator):" in told["message"]
    assert "open conditions not read (GetItem failed: AccessDenied)" in told["message"]
    # And once the table answers again, nothing is repeated
    account.faults.clear()
    assert reconcile(account) == []


def test_the_digest_tells_the_operator_what_changed_what_is_open_and_what_failed_once(
    account: Account, traveller: time_machine.Traveller
) -> None:
    # Given a day with a user created, a condition opened and another opened then cleared, and a failed rotation
    account.create("ci", owner=ALICE)
    hand_made_user(account)
    hand_made_user(account, "passing-by")
    reconcile(account)
    account.iam.update_user(UserName="passing-by", NewPath="/people/")
    reconcile(account)
    account.faults.fail("CreateAccessKey")
    account.invoke("rotate_keys", {"user_name": "ci", "force": True})
    account.invoke("rotate_keys", {})  # a scheduled run: its record notes what was done and failed
    account.faults.clear()
    traveller.move_to(START + timedelta(days=3, hours=1))
    # When the digest runs
    report = {}
    (digest,) = sent_by(account, lambda: report.update(account.invoke("create_keys", {"action": "digest"})))
    # Then the operator gets one message: counts, what changed, what is open with its age, the failures
    assert digest["attributes"] == {"kind": "digest"}
    body = digest["message"]
    assert digest["subject"].startswith("IAM keys digest: ")
    assert "2 warnings opened, 1 resolved. Open now: 1." in body
    assert " new: unmanaged_in_path on user hand-made" in body
    assert " resolved: unmanaged_in_path on user passing-by" in body
    assert "- unmanaged_in_path on user hand-made: open since 2030-01-01 (3 days)" in body
    assert "- 2030-01-01 09:00 rotate_keys: 1 failed action(s), 0 run error(s)" in body
    assert "2 actions done, 1 failed" in body  # the manual create (user and key), the failed forced rotation
    assert report["digest"]["counts"]["open"] == 1 and report["digest"]["sent"] is True
    # And the next digest, with nothing new since, sends nothing
    assert sent_by(account, lambda: account.invoke("create_keys", {"action": "digest"})) == []


def test_security_hub_findings_open_with_the_condition_and_are_archived_when_it_clears(
    account: Account, monkeypatch: pytest.MonkeyPatch, traveller: time_machine.Traveller
) -> None:
    # Given Security Hub findings switched on, and an unmanaged user whose key reaches 100 days
    wire_functions(monkeypatch, account, env={"LOCK_TABLE_NAME": TABLE, "SECURITY_HUB_FINDINGS": "true"})
    account.iam.create_user(UserName="legacy-ci")
    (key,) = [account.iam.create_access_key(UserName="legacy-ci")["AccessKey"]["AccessKeyId"]]
    traveller.move_to(START + timedelta(days=100))
    securityhub = boto3.client("securityhub")
    # When the audit finds it
    account.invoke("create_keys", {"action": "audit"})
    found = {f["Id"]: f for f in securityhub.get_findings()["Findings"]}
    old_key = "iam-key-lifecycle/123456789012/audit:unmanaged_key_over_90_days/legacy-ci/"
    # Then it is a FAILED, ACTIVE finding for the user, under its control, with a deterministic id
    assert found[old_key]["Compliance"] == {"Status": "FAILED", "RelatedRequirements": ["IAM.3"]}
    assert found[old_key]["RecordState"] == "ACTIVE"
    assert found[old_key]["Resources"][0]["Id"] == "arn:aws:iam::123456789012:user/legacy-ci"
    # And an unchanged audit imports nothing again
    before = account.faults.operations().count("BatchImportFindings")
    assert before == 1
    traveller.move_to(START + timedelta(days=101))
    account.invoke("create_keys", {"action": "audit"})
    assert account.faults.operations().count("BatchImportFindings") == before
    # When the key is deleted and the next audit no longer finds it
    account.iam.delete_access_key(UserName="legacy-ci", AccessKeyId=key)
    traveller.move_to(START + timedelta(days=102))
    account.invoke("create_keys", {"action": "audit"})
    found = {f["Id"]: f for f in securityhub.get_findings()["Findings"]}
    # Then the same finding is PASSED and ARCHIVED
    assert found[old_key]["Compliance"]["Status"] == "PASSED"
    assert found[old_key]["RecordState"] == "ARCHIVED"
