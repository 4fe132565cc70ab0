"""Runs over many users: IAM's page sizes handled, a handful of reads in steady state, and every due user
re-read one by one before anything is done to it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from moto.iam.models import AccessKeyLastUsed

from bench.scan import list_users
from bench.seed import backends, seed_account
from key_lifecycle.gateways import Aws
from key_lifecycle.models.settings import Settings
from tests.scale.scale_helpers import Calls, generate_report, invoke

SETTINGS = Settings()
PER_USER_READS = {"iam:GetUser", "iam:ListUserTags", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed"}


def test_every_user_is_read_across_iams_pages(moto_account: Calls) -> None:
    # Given more users than one page of the largest size IAM serves
    seed_account(1_050, 0, SETTINGS, datetime.now(UTC))
    iam = boto3.client("iam")
    # When IAM is asked without a page size, it answers 100 users and a marker, as AWS does
    first = iam.get_account_authorization_details(Filter=["User"])
    assert (len(first["UserDetailList"]), first["IsTruncated"]) == (100, True)
    # Then the gateway reads all of them, 1,000 a call
    aws = Aws()
    moto_account.watch(aws.session.events)
    assert len(list(aws.iam.user_details())) == 1_050
    assert len(list(list_users(aws.client("iam")))) == 1_050  # the benchmark's per-user scan
    assert moto_account.counts() == {"iam:GetAccountAuthorizationDetails": 2, "iam:ListUsers": 2}


def test_a_steady_state_run_costs_the_same_few_calls_whatever_the_number_of_users(moto_account: Calls) -> None:
    # Given 120 managed users with nothing due, 12 unmanaged ones, and a recent credential report
    seed_account(120, 12, SETTINGS, datetime.now(UTC))
    generate_report()
    for function, event in (("rotate_keys", {}), ("cleanup_users", {}), ("create_keys", {"action": "reconcile"})):
        moto_account.made.clear()
        # When the scheduled run reads the account
        report = invoke(function, event)
        # Then it did nothing, with one call per kind of bulk read and none per user
        assert report["actions"] == [] and report["errors"] == []
        assert moto_account.counts() == {
            "iam:GetAccountAuthorizationDetails": 1,
            "iam:GetCredentialReport": 1,
            "secretsmanager:ListSecrets": 2,  # 100 secrets a page
        }, function


def test_the_scan_mode_reads_every_managed_user_one_by_one(moto_account: Calls) -> None:
    from bench.scan import scan_mode

    seed_account(30, 3, SETTINGS, datetime.now(UTC))
    with scan_mode():
        report = invoke("rotate_keys", {})
    assert report["actions"] == []
    assert moto_account.counts() == {
        "iam:ListUsers": 1,
        # GetUser: the tags and the permissions boundary that make a user managed, in one call
        "iam:GetUser": 30,
        "iam:ListAccessKeys": 30,
        "iam:GetAccessKeyLastUsed": 30,
        "secretsmanager:ListSecrets": 1,
    }


def test_due_users_are_confirmed_with_per_user_reads_before_any_action(moto_account: Calls) -> None:
    # Given 40 users of which every 20th has a key old enough to rotate
    seeded = seed_account(40, 0, SETTINGS, datetime.now(UTC), due="rotate")
    generate_report()
    # When the rotation runs
    report = invoke("rotate_keys", {})
    # Then exactly the due users were rotated
    rotated = sorted(a["user_name"] for a in report["actions"] if a["status"] == "done")
    assert rotated == sorted(seeded.due) and len(rotated) == 2
    # And each was re-read (user, tags, keys, last use) before its first write, and no other user was
    names = moto_account.names()
    for user in seeded.due:
        mine = [i for i, (op, params) in enumerate(moto_account.made) if params.get("UserName") == user]
        first_write = next(i for i in mine if moto_account.made[i][0] == "iam:CreateAccessKey")
        read_before = {moto_account.made[i][0] for i in mine if i < first_write}
        assert {"iam:GetUser", "iam:ListUserTags", "iam:ListAccessKeys"} <= read_before
    confirmed = {params.get("UserName") for op, params in moto_account.made if op == "iam:GetUser"}
    assert confirmed == set(seeded.due)
    counts = moto_account.counts()
    assert counts["iam:GetUser"] == 2 and counts["iam:ListUserTags"] == 2
    assert counts["iam:GetAccessKeyLastUsed"] == 2  # one key each, read while confirming
    assert names[0] == "iam:GetAccountAuthorizationDetails"


def test_a_stale_report_never_deletes_a_user_that_was_used_since(moto_account: Calls) -> None:
    # Given a user whose only key looks unused for 100 days in a report made earlier
    now = datetime.now(UTC)
    seed_account(3, 0, SETTINGS, now)
    iam_backend, _ = backends()
    user = iam_backend.users["temp-00001"]
    user.create_date = (now - timedelta(days=200)).replace(tzinfo=None)
    user.access_keys[0].last_used = AccessKeyLastUsed((now - timedelta(days=100)).replace(tzinfo=None), "iam", "x")
    generate_report()
    # And the key was used after the report was made
    user.access_keys[0].last_used = AccessKeyLastUsed((now - timedelta(minutes=5)).replace(tzinfo=None), "iam", "x")
    # When the cleanup runs
    report = invoke("cleanup_users", {})
    # Then the user was re-read because the report suggested deleting it, and kept
    assert report["actions"] == []
    assert [p["UserName"] for op, p in moto_account.made if op == "iam:GetUser"] == ["temp-00001"]
    assert "temp-00001" in iam_backend.users
