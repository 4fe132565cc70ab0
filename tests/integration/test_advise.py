"""The advise job through the rotate function's handler against moto: every active key of the account (managed and
not), its LookupEvents history (served here from recorded CloudTrail records: moto has no LookupEvents), paced and
within its budget, the recommendation, the memory of the last one in the lock table and an event when it changes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import time_machine
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from key_lifecycle.handlers.common import reset_cold_start
from tests.support.cloudtrail import cloudtrail_records
from tests.support.moto_account import Account, FakeClock, Faults, wire_functions

LOCK_TABLE = "iam-key-lifecycle-locks"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class History:
    """LookupEvents over recorded CloudTrail records, paged as AWS pages them (newest first, MaxResults ≤ 50)."""

    def __init__(self) -> None:
        self.records: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        if model.name != "LookupEvents":
            return None
        body = json.loads(params["body"])
        self.requests.append(body)
        (attribute,) = body["LookupAttributes"]
        assert attribute["AttributeKey"] == "AccessKeyId" and body["MaxResults"] <= 50
        matched = sorted(
            (r for r in self.records if r["userIdentity"]["accessKeyId"] == attribute["AttributeValue"]),
            key=lambda r: r["eventTime"],
            reverse=True,
        )
        offset = int(body.get("NextToken", "0"))
        page = matched[offset : offset + body["MaxResults"]]
        parsed: dict[str, Any] = {
            "Events": [
                {"EventId": r["eventID"], "EventName": r["eventName"], "CloudTrailEvent": json.dumps(r)} for r in page
            ]
        }
        if offset + len(page) < len(matched):
            parsed["NextToken"] = str(offset + len(page))

        class Http:
            status_code = 200

        return Http(), parsed


@pytest.fixture
def history() -> History:
    return History()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext, history: History) -> Iterator[Account]:
    with mock_aws(), time_machine.travel(NOW, tick=False):
        account = Account(lambda_context, Faults(), FakeClock())
        boto3.client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        aws = wire_functions(
            monkeypatch,
            account,
            env={"LOCK_TABLE_NAME": LOCK_TABLE, "EVENT_BUS_NAME": "default"},
            before_call=[history.before_call],
        )
        aws._sleep, aws._clock = account.clock.sleep, account.clock.monotonic
        yield account
        reset_cold_start()


def _consumer(account: Account, history: History, user_name: str, fixture: str) -> str:
    """A user (outside the managed path) with one key, whose history is the fixture's records of that user."""
    account.iam.create_user(UserName=user_name)
    key_id = account.iam.create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    for record in cloudtrail_records(fixture):
        if record["userIdentity"]["userName"] == user_name:
            record["userIdentity"]["accessKeyId"] = key_id
            history.records.append(record)
    return key_id


def _events_put(account: Account) -> list[dict[str, Any]]:
    return [
        json.loads(entry["Detail"])
        for params in account.faults.params_of("PutEvents")
        for entry in params["Entries"]
        if entry["DetailType"] == "Access Key Recommendation Changed"
    ]


def test_every_active_key_gets_its_recommendation_and_nothing_changes(account: Account, history: History) -> None:
    ec2 = _consumer(account, history, "report-runner", "ec2_instance")
    onprem = _consumer(account, history, "backup-agent", "on_premises")
    mixed = _consumer(account, history, "shared-tools", "mixed")
    account.create("ci")  # a managed user: its key is advised too, and has no events ("unused")
    managed_key = next(iter(account.keys("ci")))
    # The stack's verification of the new key (sts:GetCallerIdentity), as CloudTrail records it.
    verification = dict(cloudtrail_records("ec2_instance")[4])
    verification["userIdentity"] = dict(verification["userIdentity"], accessKeyId=managed_key, userName="ci")
    history.records.append(verification)
    inactive = account.iam.create_access_key(UserName="report-runner")["AccessKey"]["AccessKeyId"]
    account.iam.update_access_key(UserName="report-runner", AccessKeyId=inactive, Status="Inactive")
    before = account.state()

    report = account.invoke("rotate_keys", {"action": "advise"})

    by_key = {k["access_key_id"]: k for k in report["advice"]["keys"]}
    assert {k: v["recommendation"] for k, v in by_key.items()} == {
        ec2: "instance_profile",
        onprem: "roles_anywhere",
        mixed: "keep_key",
        managed_key: "unused",
    }  # the inactive key is not advised; the administrator's dummy credentials are no IAM user's
    assert by_key[managed_key]["managed"] is True and by_key[ec2]["managed"] is False
    assert report["errors"] == []
    assert account.state() == before  # read-only
    assert set(account.faults.operations()) >= {"LookupEvents", "GetAccessKeyLastUsed", "ListAccessKeys"}
    # Paced at 2 requests a second: a wait before every request but the first.
    assert report["advice"]["lookup_requests"] == len(history.requests) == 4
    assert account.clock.sleeps == [0.5, 0.5, 0.5]
    # The first run remembers nothing: every recommendation is new, one event each.
    assert {e["access_key_id"] for e in _events_put(account)} == set(by_key)


def test_a_second_run_publishes_only_what_changed(account: Account, history: History) -> None:
    ec2 = _consumer(account, history, "report-runner", "ec2_instance")
    _consumer(account, history, "backup-agent", "on_premises")
    account.invoke("rotate_keys", {"action": "advise"})
    first = len(_events_put(account))
    # The EC2 consumer is now also used from a workstation.
    extra = dict(cloudtrail_records("mixed")[-1])
    extra["userIdentity"] = dict(extra["userIdentity"], accessKeyId=ec2)
    history.records.append(extra)

    report = account.invoke("rotate_keys", {"action": "advise"})

    (changed,) = _events_put(account)[first:]
    assert changed["access_key_id"] == ec2
    assert (changed["previous_recommendation"], changed["recommendation"]) == ("instance_profile", "keep_key")
    assert "policies" not in json.dumps(changed)  # the artefact stays in the report
    assert report["advice"]["changed"] == [ec2]


def test_the_budget_stops_the_run_and_the_next_run_reads_the_rest_first(
    account: Account, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADVISE_LOOKUP_BUDGET", "1")
    reset_cold_start()
    aws = wire_functions(
        monkeypatch,
        account,
        env={"LOCK_TABLE_NAME": LOCK_TABLE, "EVENT_BUS_NAME": "default"},
        before_call=[history.before_call],
    )
    aws._sleep, aws._clock = account.clock.sleep, account.clock.monotonic
    first_key = _consumer(account, history, "a-first", "on_premises")
    second_key = _consumer(account, history, "b-second", "on_premises")

    report = account.invoke("rotate_keys", {"action": "advise"})
    assert [k["access_key_id"] for k in report["advice"]["keys"]] == [first_key]
    assert report["advice"]["not_read"] == [second_key]
    assert [w["code"] for w in report["warnings"]] == ["advice_not_read"]

    again = account.invoke("rotate_keys", {"action": "advise"})
    assert [k["access_key_id"] for k in again["advice"]["keys"]] == [second_key]  # the unread key went first


def test_one_user_only_and_a_bad_user_name_is_refused_by_field(account: Account, history: History) -> None:
    _consumer(account, history, "report-runner", "ec2_instance")
    onprem = _consumer(account, history, "backup-agent", "on_premises")
    report = account.invoke("rotate_keys", {"action": "advise", "user_name": "backup-agent"})
    assert [k["access_key_id"] for k in report["advice"]["keys"]] == [onprem]

    calls = len(account.faults.calls)
    refused = account.invoke("rotate_keys", {"action": "advise", "user_name": "not a name!"})
    assert refused["errors"] and refused["errors"][0].startswith("user_name:")
    refused = account.invoke("rotate_keys", {"action": "advise", "window_days": 3})
    assert refused["errors"] and refused["errors"][0].startswith("window_days:")
    assert len(account.faults.calls) == calls  # nothing read, nothing changed

    missing = account.invoke("rotate_keys", {"action": "advise", "user_name": "nobody"})
    assert [w["code"] for w in missing["warnings"]] == ["advice_no_such_user"]


def test_the_inventory_report_and_the_audit_show_the_last_advice_without_reading_cloudtrail(
    account: Account, history: History
) -> None:
    ec2 = _consumer(account, history, "report-runner", "ec2_instance")
    account.create("ci")  # managed: the only user in the inventory
    (managed_key,) = account.keys("ci")
    # Before the advisor's first run, the report's keys say "never advised" (null) and the audit says so too
    before = account.invoke("create_keys", {"action": "report"})
    assert [k["advice"] for k in before["inventory"]["users"][0]["keys"]] == [None]
    assert before["inventory"]["advised_at"] is None
    advised = {
        k["access_key_id"]: k["recommendation"]
        for k in account.invoke("rotate_keys", {"action": "advise"})["advice"]["keys"]
    }
    assert advised[ec2] == "instance_profile" and advised[managed_key] == "keep_key"  # it verified itself
    lookups = len(history.requests)
    gets = len(account.faults.params_of("GetItem"))

    report = account.invoke("create_keys", {"action": "report"})
    audit = account.invoke("create_keys", {"action": "audit"})

    # The inventory's managed key carries its last recommendation and when it was made (the advise run's time)
    (user,) = report["inventory"]["users"]
    (key,) = user["keys"]
    assert (key["access_key_id"], key["advice"]) == (managed_key, "keep_key")
    assert key["advised_at"] == report["inventory"]["advised_at"] == NOW.isoformat()
    # The audit summarises every advised key (managed or not): counts, age, the keys a role could replace
    summary = audit["audit"]["advice"]
    assert summary["counts"] == {"instance_profile": 1, "keep_key": 1}
    assert (summary["age_days"], summary["keys"], summary["replaceable_count"]) == (0, 2, 1)
    # (the user's name is known for managed users' keys only: the audit lists no unmanaged user's keys)
    assert summary["replaceable"] == [{"user_name": None, "access_key_id": ec2, "recommendation": "instance_profile"}]
    # Both read exactly the advisor's item, once each, and never CloudTrail
    assert len(history.requests) == lookups
    reads = account.faults.params_of("GetItem")[gets:]
    assert [r["Key"] for r in reads if r["Key"]["lock_key"]["S"] == "advisor/state"] == [
        {"lock_key": {"S": "advisor/state"}}
    ] * 2
    assert report["errors"] == [] and audit["errors"] == []


def test_security_hub_findings_for_keys_a_role_could_replace_open_once_and_archive_when_the_advice_goes(
    account: Account, history: History, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = wire_functions(
        monkeypatch,
        account,
        env={"LOCK_TABLE_NAME": LOCK_TABLE, "EVENT_BUS_NAME": "default", "SECURITY_HUB_FINDINGS": "true"},
        before_call=[history.before_call],
    )
    aws._sleep, aws._clock = account.clock.sleep, account.clock.monotonic
    ec2 = _consumer(account, history, "report-runner", "ec2_instance")
    onprem = _consumer(account, history, "backup-agent", "on_premises")
    mixed = _consumer(account, history, "shared-tools", "mixed")  # keep_key: no finding
    securityhub = boto3.client("securityhub")

    def findings() -> dict[str, dict[str, Any]]:
        return {f["Id"]: f for f in securityhub.get_findings()["Findings"]}

    # When the advisor runs
    account.invoke("rotate_keys", {"action": "advise"})
    # Then each key a role could replace is one informational, active finding on the key and its user
    ec2_id, onprem_id = (f"iam-key-lifecycle/123456789012/advice/{key}" for key in (ec2, onprem))
    found = findings()
    assert set(found) == {ec2_id, onprem_id}
    finding = found[ec2_id]
    assert finding["Severity"]["Label"] == "INFORMATIONAL" and finding["RecordState"] == "ACTIVE"
    assert finding["Types"] == ["Software and Configuration Checks/AWS Security Best Practices"]
    assert [r["Id"] for r in finding["Resources"]] == [ec2, "arn:aws:iam::123456789012:user/report-runner"]
    assert finding["ProductFields"]["iam-key-lifecycle/recommendation"] == "instance_profile"
    assert found[onprem_id]["ProductFields"]["iam-key-lifecycle/recommendation"] == "roles_anywhere"
    assert mixed not in json.dumps(found)
    # And an unchanged run imports nothing
    imports = account.faults.operations().count("BatchImportFindings")
    assert imports == 1
    account.invoke("rotate_keys", {"action": "advise"})
    assert account.faults.operations().count("BatchImportFindings") == imports
    # When the EC2 consumer is also used from a workstation (keep_key) and the on-premises key is deleted
    extra = dict(cloudtrail_records("mixed")[-1])
    extra["userIdentity"] = dict(extra["userIdentity"], accessKeyId=ec2)
    history.records.append(extra)
    account.iam.delete_access_key(UserName="backup-agent", AccessKeyId=onprem)
    report = account.invoke("rotate_keys", {"action": "advise"})
    # Then the next run archives both findings, in one import
    assert account.faults.operations().count("BatchImportFindings") == imports + 1
    found = findings()
    for finding_id in (ec2_id, onprem_id):
        assert found[finding_id]["RecordState"] == "ARCHIVED" and found[finding_id]["Compliance"]["Status"] == "PASSED"
    assert "keep_key" in found[ec2_id]["Description"] and "gone" in found[onprem_id]["Description"]
    assert report["errors"] == []
