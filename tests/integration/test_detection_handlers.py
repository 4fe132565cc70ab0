"""The detection features end to end against moto: out-of-band keys, the audit, the report, forewarnings, events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from tests.support.cloudtrail import cloudtrail_event
from tests.support.moto_account import OWNER, Account

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def event_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_BUS_NAME", "default")


def events_put(account: Account) -> list[tuple[str, dict[str, Any]]]:
    return [
        (entry["DetailType"], json.loads(entry["Detail"]))
        for params in account.faults.params_of("PutEvents")
        for entry in params["Entries"]
    ]


def key_made_by_hand(account: Account, user_name: str) -> tuple[str, dict[str, Any]]:
    """A person creates a key on the user; CloudTrail's event for it, as EventBridge delivers it."""
    akid = account.iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    event = cloudtrail_event("create_access_key_by_hand")
    event["detail"]["requestParameters"]["userName"] = user_name
    event["detail"]["responseElements"]["accessKey"].update(accessKeyId=akid, userName=user_name)
    return akid, event


def test_a_key_created_by_hand_on_a_managed_user_is_flagged_and_left_active_by_default(account: Account) -> None:
    # Given a managed user made by the stack, and a second key created on it by hand
    assert account.create("ci")["verification"] == "verified"
    akid, event = key_made_by_hand(account, "ci")
    # When the CloudTrail event reaches the detect function
    report = account.invoke("detect_changes", event)
    # Then it is reported as unmanaged, to the user's owner, and published as an event; the key stays active
    assert report["change"]["kind"] == "access_key_created_out_of_band"
    assert report["warnings"][0]["access_key_id"] == akid
    assert account.keys("ci")[akid] == "Active"
    notice = account.notifications()[-1]
    assert notice["attributes"]["owner"] == OWNER and akid in notice["message"]
    assert notice["attributes"]["kind"] == "out_of_band"
    detail_types = [t for t, _ in events_put(account)]
    assert "Access Key Created Out Of Band" in detail_types


def test_a_key_created_by_hand_is_deactivated_when_configured(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUT_OF_BAND_KEY_RESPONSE", "deactivate")
    account.create("ci")
    stored = next(iter(account.stages("ci")))
    akid, event = key_made_by_hand(account, "ci")
    report = account.invoke("detect_changes", event)
    assert account.keys("ci") == {stored: "Active", akid: "Inactive"}
    assert [(a["action"], a["status"], a["access_key_id"]) for a in report["actions"]] == [
        ("deactivate_key", "done", akid)
    ]
    published = dict(events_put(account))
    assert published["Access Key Deactivated"]["access_key_id"] == akid


def test_the_stack_key_is_never_deactivated_even_if_an_event_claims_it_was_made_by_hand(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OUT_OF_BAND_KEY_RESPONSE", "deactivate")
    account.create("ci")
    stored = next(iter(account.stages("ci")))
    _, event = key_made_by_hand(account, "ci")
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = stored
    report = account.invoke("detect_changes", event)
    assert report["change"]["kind"] == "made_by_stack" and report["actions"] == []
    assert account.keys("ci")[stored] == "Active"


def test_a_change_to_an_unmanaged_user_is_not_reported(account: Account) -> None:
    account.iam.create_user(UserName="someone")
    _, event = key_made_by_hand(account, "someone")
    before = len(account.notifications())
    report = account.invoke("detect_changes", event)
    assert report["change"]["kind"] == "unrelated" and report["warnings"] == []
    assert len(account.notifications()) == before


def test_a_malformed_event_is_refused_naming_the_field(account: Account) -> None:
    report = account.invoke("detect_changes", {"detail": {"eventName": 3}})
    assert report["errors"] == ["detail.eventName: must be a string"]


def test_the_audit_shows_root_keys_and_old_unmanaged_keys_and_changes_nothing(
    account: Account, traveller: time_machine.Traveller
) -> None:
    # Given an unmanaged user whose key is 100 days old, a managed user, and root keys (GetAccountSummary)
    account.iam.create_user(UserName="legacy-ci")
    account.iam.create_access_key(UserName="legacy-ci")
    traveller.shift(timedelta(days=100))
    account.create("ci")
    account.faults.respond("GetAccountSummary", {"SummaryMap": {"AccountAccessKeysPresent": 1}})
    before = account.state()
    # When the audit runs
    report = account.invoke("create_keys", {"action": "audit"})
    # Then both show up, with their Security Hub controls, and nothing was changed
    codes = {(f["code"], f["user_name"]) for f in report["audit"]["findings"]}
    assert ("root_access_key", None) in codes
    assert ("unmanaged_key_over_90_days", "legacy-ci") in codes
    assert ("credential_unused_90_days", "legacy-ci") in codes
    assert not any(user == "ci" for _, user in codes)
    assert account.state() == before
    # (findings on users without an owner go to the operator: no owner attribute, kind "operator")
    last = account.notifications()[-1]
    assert last["subject"].startswith("IAM keys (audit) for the operator: 3 new warnings")
    assert last["attributes"] == {"kind": "operator"}
    assert "user legacy-ci: [IAM.3]" in last["message"] and "What to do:" in last["message"]
    assert dict(events_put(account))["Account Posture Audited"]["counts"]["root_access_key"] == 1


def test_the_report_lists_each_managed_user_with_keys_and_next_action(account: Account) -> None:
    account.create("ci")
    report = account.invoke("create_keys", {"action": "report"})
    (user,) = report["inventory"]["users"]
    (key,) = user["keys"]
    assert user["user_name"] == "ci" and user["owner"] == OWNER
    assert key["secret_stage"] == "AWSCURRENT" and key["role"] == "current"
    assert user["next_action"] == "delete user (expiry)"  # 30 days, before the 90-day rotation
    assert report["inventory"]["totals"]["managed_users"] == 1
    assert report["warnings"] == [] and report["actions"] == []


def test_the_daily_cleanup_warns_the_owner_once_ahead_of_expiry(
    account: Account, traveller: time_machine.Traveller
) -> None:
    # Given a user expiring in 10 days
    account.create("ci", ttl_days=10)
    sent = []
    # When cleanup runs every day until the user is gone
    for _ in range(11):
        traveller.shift(timedelta(days=1))
        before = len(account.notifications())
        account.invoke("cleanup_users", {})
        sent += [n for n in account.notifications()[before:] if n["attributes"].get("kind") == "forewarning"]
    # Then the owner got exactly two forewarnings (7 days and 1 day ahead), filtered by the owner attribute
    assert ["(in 7 days at most)" in n["message"] for n in sent] == [True, False]
    assert ["(in 1 day at most)" in n["message"] for n in sent] == [False, True]
    assert all(n["subject"].startswith("IAM keys: coming on ") for n in sent)
    assert all(n["subject"].endswith(": user-expiry of user ci") for n in sent)
    assert all(n["attributes"]["owner"] == OWNER for n in sent)
    # And each went to EventBridge too, then the deletion itself
    types = [t for t, _ in events_put(account)]
    assert types.count("Temporary User Expiring") == 2
    assert "Temporary User Deleted" in types
    assert account.user("ci") is None


def test_a_dry_run_lists_forewarnings_without_sending_or_recording_them(
    account: Account, traveller: time_machine.Traveller
) -> None:
    account.create("ci", ttl_days=3)
    before = len(account.notifications())
    report = account.invoke("cleanup_users", {"dry_run": True})
    assert [w["code"] for w in report["warnings"]] == ["forewarn:user-expiry"]
    assert not [n for n in account.notifications()[before:] if n["attributes"].get("kind") == "forewarning"]
    assert not any(k.startswith("warned:") for k in account.tags("ci"))


def test_rotation_events_name_the_key_and_never_hold_a_secret(
    account: Account, traveller: time_machine.Traveller
) -> None:
    account.create("ci", ttl_days=200)
    traveller.shift(timedelta(days=91))
    account.invoke("rotate_keys", {})
    published = events_put(account)
    rotated = [d for t, d in published if t == "Access Key Rotated"]
    assert rotated and rotated[0]["user_name"] == "ci" and rotated[0]["owner"] == OWNER
    text = json.dumps(published)
    assert not any(secret in text for secret in account.faults.issued_secrets)
