"""The runner's last-moment guards and the gateways' reads and error mapping, against moto."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from key_lifecycle.gateways import AwsError, read_snapshot
from key_lifecycle.handlers.common import get_aws, get_settings
from key_lifecycle.models.report import Action, ActionKind, Plan, Report
from key_lifecycle.models.settings import SettingsError
from key_lifecycle.service.notifications import organization_message, organization_subject
from key_lifecycle.service.runner import Runner
from tests.support.moto_account import ACCOUNT_ID, MANAGED_BY, OWNER, PATH, PREFIX, Account

NAME = "temporary-iam-user"


def run(*actions: Action) -> list[Action]:
    aws, settings = get_aws(), get_settings()
    snapshot = read_snapshot(aws, settings)
    return Runner(aws, settings, datetime.now(UTC)).apply(Plan(actions=list(actions)), snapshot).actions


# The runner -------------------------------------------------------------------------------------------------


def test_no_third_key_is_ever_created(account: Account) -> None:
    # Given a managed user that got a second key after the plan was made
    account.create(NAME)
    account.iam.create_access_key(UserName=NAME)
    state = account.state()
    account.faults.calls.clear()

    # When a plan still asks for a key
    (result,) = run(Action(user_name=NAME, action=ActionKind.CREATE_KEY, reason="test"))

    # Then the action fails clearly, before CreateAccessKey is even tried
    assert result.status == "failed"
    assert "already has 2 access keys" in (result.detail or "")
    assert "CreateAccessKey" not in account.faults.operations()
    assert account.state() == state


def test_a_user_no_longer_managed_is_never_deleted(account: Account) -> None:
    # Given a plan to delete a user, made from a snapshot in which the user is managed
    account.create(NAME)
    aws, settings = get_aws(), get_settings()
    snapshot = read_snapshot(aws, settings)
    # And someone takes the user out of the stack's hands before the plan is applied
    account.iam.tag_user(UserName=NAME, Tags=[{"Key": "managed-by", "Value": "someone-else"}])

    # When the plan is applied
    plan = Plan(actions=[Action(user_name=NAME, action=ActionKind.DELETE_USER, reason="expired")])
    (result,) = Runner(aws, settings, datetime.now(UTC)).apply(plan, snapshot).actions

    # Then the re-check refuses, and the user keeps everything
    assert result.status == "failed" and (result.detail or "").startswith("refused")
    assert account.user(NAME) is not None and len(account.keys(NAME)) == 1


@pytest.mark.parametrize("kind", [ActionKind.DEACTIVATE_KEY, ActionKind.DELETE_KEY])
def test_the_verified_current_key_is_never_retired(account: Account, kind: ActionKind) -> None:
    key = account.create(NAME)["access_key_id"]
    (result,) = run(Action(user_name=NAME, action=kind, reason="test", access_key_id=key))
    assert result.status == "failed" and "verified current key" in (result.detail or "")
    assert account.keys(NAME) == {key: "Active"}


def test_retiring_a_key_that_is_already_gone_is_done(account: Account) -> None:
    account.create(NAME)
    gone = account.iam.create_access_key(UserName=NAME)["AccessKey"]["AccessKeyId"]
    account.iam.delete_access_key(UserName=NAME, AccessKeyId=gone)
    (result,) = run(Action(user_name=NAME, action=ActionKind.DELETE_KEY, reason="test", access_key_id=gone))
    assert (result.status, result.detail) == ("done", "already gone")


def test_a_key_that_verifies_as_someone_else_rolls_the_create_back(account: Account) -> None:
    # Given STS names another principal for the new key
    other = f"arn:aws:iam::{ACCOUNT_ID}:user/someone-else"
    account.faults.respond("GetCallerIdentity", {"Arn": other, "Account": ACCOUNT_ID, "UserId": "AIDAOTHER"})

    # When a user is created
    report = account.create(NAME)

    # Then the create fails and is undone
    assert report["verification"] == "failed"
    assert "STS names another principal" in report["errors"][0]
    assert account.user(NAME) is None and account.live_secret(NAME) is None


# Reading the account ------------------------------------------------------------------------------------------


def test_snapshot_reads_keys_and_secrets_of_managed_users_only(account: Account) -> None:
    # Given one managed user and several unmanaged ones, all with keys
    account.create(NAME)
    account.iam.create_user(UserName="admin", Path="/")
    account.iam.create_user(UserName="intruder", Path=PATH)
    account.iam.create_user(UserName="elsewhere", Path="/x/", Tags=[{"Key": "managed-by", "Value": MANAGED_BY}])
    for name in ("admin", "intruder", "elsewhere"):
        account.iam.create_access_key(UserName=name)
    account.faults.calls.clear()

    # When the snapshot is read
    snapshot = read_snapshot(get_aws(), get_settings())

    # Then every user is in it, but keys, last use and secrets were read for the managed user alone
    assert {u.user_name for u in snapshot.users} == {NAME, "admin", "intruder", "elsewhere"}
    managed = snapshot.find(NAME)
    assert managed is not None and len(managed.keys) == 1 and managed.keys[0].last_used_date is not None
    assert managed.secret is not None and managed.secret.name == PREFIX + NAME
    assert managed.tags["owner"] == OWNER
    assert all(not u.keys and u.secret is None for u in snapshot.users if u.user_name != NAME)
    assert [(op, p.get("UserName")) for op, p in account.faults.calls if op == "ListAccessKeys"] == [
        ("ListAccessKeys", NAME)
    ]
    assert account.faults.operations().count("GetAccessKeyLastUsed") == 1
    assert account.faults.operations().count("ListSecrets") == 1


def test_aws_errors_carry_the_code_and_never_the_message(account: Account) -> None:
    account.faults.fail("GetAccountAuthorizationDetails", "AccessDenied")
    with pytest.raises(AwsError) as raised:
        read_snapshot(get_aws(), get_settings())
    assert str(raised.value) == "GetAccountAuthorizationDetails failed: AccessDenied"
    assert raised.value.__suppress_context__ and "injected" not in str(raised.value)


# Handlers around the run ----------------------------------------------------------------------------------------


def test_a_failed_account_read_fails_the_invocation(account: Account) -> None:
    # Given IAM refuses the bulk read: the run cannot decide anything, so it must fail loudly (alarms)
    account.faults.fail("GetAccountAuthorizationDetails")
    with pytest.raises(AwsError, match="GetAccountAuthorizationDetails failed: AccessDenied"):
        account.invoke("rotate_keys", {})


def test_a_bad_setting_fails_naming_the_variable(account: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTATE_AFTER_DAYS", "soon")
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match="ROTATE_AFTER_DAYS"):
        account.invoke("rotate_keys", {})


def test_global_dry_run_writes_nothing_even_when_the_payload_says_otherwise(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRY_RUN", "true")
    get_settings.cache_clear()
    state = account.state()
    report = account.create(NAME, dry_run=False)
    assert report["dry_run"] is True and {a["status"] for a in report["actions"]} == {"planned"}
    assert account.state() == state


@pytest.mark.parametrize(
    ("function", "event", "field"),
    [
        ("rotate_keys", {"force": "yes"}, "force"),
        ("rotate_keys", {"user_name": "a b"}, "user_name"),
        ("rotate_keys", {"unknown": 1}, "unknown"),
        ("cleanup_users", {"user_name": ""}, "user_name"),
        ("cleanup_users", {"dry_run": "no"}, "dry_run"),
        ("cleanup_users", "delete all", "event"),
    ],
)
def test_bad_payloads_of_rotate_and_cleanup_change_nothing(
    account: Account, function: str, event: object, field: str
) -> None:
    account.create(NAME)
    state = account.state()
    report = account.invoke(function, event)
    assert report["actions"] == [] and report["errors"][0].startswith(f"{field}:")
    assert account.state() == state


def test_forced_rotation_without_a_user_is_refused(account: Account) -> None:
    report = account.invoke("rotate_keys", {"force": True})
    assert "force needs user_name" in report["errors"][0]


def test_a_lost_notification_is_reported_not_fatal(account: Account) -> None:
    account.faults.fail("Publish")
    report = account.create(NAME)
    assert report["verification"] == "verified"
    assert report["errors"] == [f"notification to {OWNER} not sent: Publish failed: AccessDenied"]


def test_runs_without_news_send_no_notification(account: Account) -> None:
    account.create(NAME)
    sent = len(account.notifications())
    assert account.invoke("rotate_keys", {})["actions"] == []
    assert account.invoke("cleanup_users", {"dry_run": True})["actions"] == []
    assert len(account.notifications()) == sent


def test_notification_fits_sns_limits() -> None:
    # Given the report of a very large organization run (the one notification not made by notices.render, whose
    # size cap tests/unit/test_notices.py checks), with every account failed
    failed = [{"account_id": f"{i:012d}", "reason": "States.TaskFailed: " + "x" * 100} for i in range(5000)]
    section = {"job": "rotate", "accounts": 5000, "accounts_done": [], "accounts_failed": failed}
    report = Report(function="create_keys", dry_run=False, organization={**section, "actions": [], "warnings": []})

    # Then the subject and the message fit SNS's limits, and the message says it was shortened
    assert len(organization_subject(report)) <= 100
    message = organization_message(report)
    assert len(message.encode()) <= 250_000
    assert message.startswith("The rotate run over 5000 accounts of the organization: 0 done, 5000 failed.")
    assert message.endswith("(shortened: the full list is in the logs)")


def test_verification_signs_with_the_new_key_alone(account: Account) -> None:
    # Given the function runs with role credentials, which carry a session token (AWS_SESSION_TOKEN is set)
    # When the verifier builds its client for a new key
    sts = get_aws().verifier._client_for("AKIAEXAMPLEEXAMPLE01", "not-a-real-secret")

    # Then it signs with that key and sends no session token along (that would make STS reject the key)
    credentials = sts._request_signer._credentials
    assert (credentials.access_key, credentials.token) == ("AKIAEXAMPLEEXAMPLE01", None)
    assert sts.meta.region_name == "us-east-1"
