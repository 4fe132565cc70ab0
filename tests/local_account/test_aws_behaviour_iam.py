"""IAM as AWS documents it, for every call and answer the functions rely on. Each test is one row of
docs/aws-behaviour.md."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError

from local_account.emulator import paging
from local_account.emulator.credentials import DEFAULT_LAST_USE_DELAY, last_use_delay
from tests.local_account.emulator_helpers import REGION, error_code


@pytest.fixture
def alice(iam: Any) -> str:
    iam.create_user(UserName="alice", Path="/temporary/", Tags=[{"Key": "managed-by", "Value": "iam-key-lifecycle"}])
    return "alice"


def test_create_user_stores_the_tags_of_the_request(iam, alice) -> None:
    # AWS (CreateUser): Tags — "A list of tags that you want to attach to the new user."
    assert iam.list_user_tags(UserName=alice)["Tags"] == [{"Key": "managed-by", "Value": "iam-key-lifecycle"}]


def test_a_user_holds_at_most_fifty_tags(iam, alice) -> None:
    # AWS (IAM quotas): 50 tags per IAM resource; TagUser beyond it fails with LimitExceeded.
    iam.tag_user(UserName=alice, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    with pytest.raises(ClientError) as refused:
        iam.tag_user(UserName=alice, Tags=[{"Key": "one-too-many", "Value": "v"}])
    assert error_code(refused) == "LimitExceeded"
    assert len(iam.list_user_tags(UserName=alice)["Tags"]) == 50


@pytest.mark.parametrize(
    ("key", "value"),
    [("k" * 129, "v"), ("k", "v" * 257), ("bad<key", "v"), ("k", "bad<value")],
    ids=["key-over-128", "value-over-256", "key-character", "value-character"],
)
def test_tag_keys_and_values_are_limited_in_length_and_characters(iam, alice, key, value) -> None:
    # AWS (Tag): key 1-128 and value 0-256 characters of [\p{L}\p{Z}\p{N}_.:/=+\-@]
    with pytest.raises(ClientError) as refused:
        iam.tag_user(UserName=alice, Tags=[{"Key": key, "Value": value}])
    assert error_code(refused) in ("ValidationError", "InvalidInput")
    assert [t["Key"] for t in iam.list_user_tags(UserName=alice)["Tags"]] == ["managed-by"]


def test_a_user_holds_at_most_two_access_keys(iam, alice) -> None:
    # AWS (IAM quotas): two access keys per user; CreateAccessKey beyond it fails with LimitExceeded.
    iam.create_access_key(UserName=alice)
    iam.create_access_key(UserName=alice)
    with pytest.raises(ClientError) as refused:
        iam.create_access_key(UserName=alice)
    assert error_code(refused) == "LimitExceeded"


def test_updating_or_deleting_a_deleted_key_is_no_such_entity(iam, alice) -> None:
    key_id = iam.create_access_key(UserName=alice)["AccessKey"]["AccessKeyId"]
    iam.delete_access_key(UserName=alice, AccessKeyId=key_id)
    for call in (
        lambda: iam.update_access_key(UserName=alice, AccessKeyId=key_id, Status="Inactive"),
        lambda: iam.delete_access_key(UserName=alice, AccessKeyId=key_id),
    ):
        with pytest.raises(ClientError) as gone:
            call()
        assert error_code(gone) == "NoSuchEntity"


def test_a_never_used_key_has_no_last_used_date_and_na_service_and_region(iam, alice) -> None:
    # AWS (AccessKeyLastUsed): LastUsedDate is null and ServiceName and Region are "N/A" when the key "has not been
    # used since IAM began tracking this information".
    key_id = iam.create_access_key(UserName=alice)["AccessKey"]["AccessKeyId"]
    last_used = iam.get_access_key_last_used(AccessKeyId=key_id)
    assert last_used["UserName"] == alice
    assert "LastUsedDate" not in last_used["AccessKeyLastUsed"]
    assert last_used["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    assert last_used["AccessKeyLastUsed"]["Region"] == "N/A"


def test_a_keys_use_is_recorded_only_after_the_recording_delay(iam, alice, enforced) -> None:
    # AWS records a key's last use some time after the call, not at once; the local account delays it by
    # `last_use_delay` (default DEFAULT_LAST_USE_DELAY).
    assert last_use_delay == DEFAULT_LAST_USE_DELAY == timedelta(hours=4)
    iam.put_user_policy(
        UserName=alice,
        PolicyName="whoami",
        PolicyDocument='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}',
    )
    key = iam.create_access_key(UserName=alice)["AccessKey"]
    used_at = datetime.now(UTC)
    with time_machine.travel(used_at, tick=False), enforced():
        boto3.client(
            "sts",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        ).get_caller_identity()
    with time_machine.travel(used_at + last_use_delay - timedelta(minutes=1)):
        hidden = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    with time_machine.travel(used_at + last_use_delay + timedelta(minutes=1)):
        shown = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert "LastUsedDate" not in hidden
    assert abs(shown["LastUsedDate"] - used_at) < timedelta(seconds=1)
    assert shown["ServiceName"] == "sts"


def test_user_names_are_case_insensitive_in_every_call_that_takes_one(iam, alice) -> None:
    # AWS: "User names are not distinguished by case." A call naming ALICE acts on alice.
    assert iam.get_user(UserName="ALICE")["User"]["UserName"] == alice
    iam.tag_user(UserName="Alice", Tags=[{"Key": "owner", "Value": "o@example.com"}])
    key_id = iam.create_access_key(UserName="ALICE")["AccessKey"]["AccessKeyId"]
    assert [k["AccessKeyId"] for k in iam.list_access_keys(UserName="aLiCe")["AccessKeyMetadata"]] == [key_id]
    assert {t["Key"] for t in iam.list_user_tags(UserName=alice)["Tags"]} == {"managed-by", "owner"}


@pytest.fixture
def served_reports() -> None:
    """The credential report as the local account serves it (STARTED, COMPLETE, reused for four hours)."""
    paging.install()


def test_the_credential_report_is_absent_until_generated_then_complete(iam, alice, served_reports) -> None:
    # AWS: GetCredentialReport before any GenerateCredentialReport fails with ReportNotPresent; generation answers
    # STARTED, then COMPLETE once the report exists.
    with pytest.raises(ClientError) as absent:
        iam.get_credential_report()
    assert error_code(absent) == "ReportNotPresent"
    states = [iam.generate_credential_report()["State"] for _ in range(3)]
    assert states[0] == "STARTED" and states[-1] == "COMPLETE"
    report = iam.get_credential_report()
    assert report["ReportFormat"] == "text/csv" and b"alice" in report["Content"]


def test_a_credential_report_is_reused_for_four_hours_then_generated_anew(iam, alice, served_reports) -> None:
    # AWS: "If the most recent report was generated less than four hours ago, GenerateCredentialReport does not
    # create a new one"; after four hours it does.
    while iam.generate_credential_report()["State"] != "COMPLETE":
        pass
    first = iam.get_credential_report()["GeneratedTime"]
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=3, minutes=59)):
        assert iam.generate_credential_report()["State"] == "COMPLETE"
        assert iam.get_credential_report()["GeneratedTime"] == first
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=4, minutes=1)):
        while iam.generate_credential_report()["State"] != "COMPLETE":
            pass
        assert iam.get_credential_report()["GeneratedTime"] > first
