"""A manual create, then a simulated year of the deployed schedules: every managed, unexpired user always
holds a current secret whose key works, keys rotate through their two-key states, and nothing leaks."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import pytest

from .conftest import DAYS, LEGACY, MANAGED_PATH, OWNER, ROTATED, Year

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_the_manual_create_returns_a_verified_key_stored_as_the_current_secret(year: Year) -> None:
    created = year.created[ROTATED]
    # Then the result names the user, its verified key and its secret, and says nothing secret
    assert created["errors"] == [] and created["verification"] == "verified"
    assert created["user_arn"] == f"arn:aws:iam::123456789012:user{MANAGED_PATH}{ROTATED}"
    assert created["verified_arn"] == created["user_arn"]
    assert created["secret_arn"].startswith("arn:aws:secretsmanager:eu-west-1:123456789012:secret:temporary-iam-users/")
    assert not any("secret_access_key" in str(value).lower() for value in created.values())
    # And on day 0 the key's secret version is AWSCURRENT and the key is the user's only one
    day0 = year.state(0, ROTATED)
    assert day0 is not None
    assert [(k.access_key_id, k.status) for k in day0.keys] == [(created["access_key_id"], "Active")]
    current = [v for v, stages in day0.versions.items() if "AWSCURRENT" in stages]
    assert len(current) == 1 and current[0].startswith(created["access_key_id"] + "-")


def test_the_created_user_is_tagged_bounded_and_grouped_with_no_policy_of_its_own(year: Year) -> None:
    iam = year.account.admin_client("iam")
    outputs = year.account.stack_outputs
    user = iam.get_user(UserName=ROTATED)["User"]
    tags = {t["Key"]: t["Value"] for t in user["Tags"]}
    assert tags["managed-by"] == "iam-key-lifecycle" and tags["owner"] == OWNER and "expires-at" in tags
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == outputs["PermissionsBoundaryArn"]
    groups = [g["GroupName"] for g in iam.list_groups_for_user(UserName=ROTATED)["Groups"]]
    assert groups == [outputs["TemporaryUserGroupName"]]
    assert iam.list_user_policies(UserName=ROTATED)["PolicyNames"] == []
    assert iam.list_attached_user_policies(UserName=ROTATED)["AttachedPolicies"] == []


def test_every_managed_unexpired_user_always_had_a_working_current_key(year: Year) -> None:
    # Checked every day at 00:00 with sts:GetCallerIdentity signed by the AWSCURRENT secret's key
    assert year.failures == []
    checked_days = {day for day, user in year.checks if user == ROTATED}
    assert checked_days == set(range(DAYS + 1))


def test_every_scheduled_run_of_the_year_succeeded(year: Year) -> None:
    runs = Counter(i.schedule for i in year.scheduled)
    by_expression = {s.name: s.expression for s in year.account.schedules.values()}
    # Daily schedules ran every day, the weekday one on the 261 weekdays of this year
    expected = {"cron(0 7 * * ? *)": DAYS, "cron(0 6 * * ? *)": DAYS, "cron(0 9 ? * MON-FRI *)": 261}
    for name, expression in by_expression.items():
        if expression in expected:
            assert runs[name] == expected[expression], (name, expression)
    failed = [(i.time, i.function, i.error) for i in year.scheduled if not i.ok]
    assert failed == []
    failed_actions = [
        (i.time.date(), a["user_name"], a["action"], a.get("detail"))
        for i in year.scheduled
        for a in i.result["actions"]
        if a["status"] != "done"
    ]
    assert failed_actions == []
    assert [e for i in year.scheduled for e in i.result["errors"]] == []


def _key_states(year: Year, user: str) -> list[tuple[str, ...]]:
    daily = [tuple(k.status for k in state.keys) for day in sorted(year.days) if (state := year.state(day, user))]
    return [states for states, _ in groupby(daily)]


def test_rotation_passes_through_the_two_key_states(year: Year) -> None:
    # One key; after rotation two active (the replacement is current); then the replaced one inactive; then gone
    one, both, replaced = ("Active",), ("Active", "Active"), ("Inactive", "Active")
    states = _key_states(year, ROTATED)
    assert states[0] == one
    cycles = (len(states) - 1) // 3
    assert cycles >= 3, states
    assert states == [one] + [both, replaced, one] * cycles + states[1 + 3 * cycles :]


def test_while_two_keys_are_active_the_new_one_is_current_and_the_old_one_previous(year: Year) -> None:
    two_key_days = [day for day in sorted(year.days) if (s := year.state(day, ROTATED)) and len(s.keys) == 2]
    assert two_key_days
    for day in two_key_days:
        state = year.state(day, ROTATED)
        assert state is not None
        old, new = state.keys
        stages = {version.split("-")[0]: stages for version, stages in state.versions.items()}
        assert "AWSCURRENT" in stages[new.access_key_id], (day, state)
        assert "AWSPREVIOUS" in stages[old.access_key_id], (day, state)


def test_no_secret_access_key_appears_in_any_log_line_or_result(year: Year) -> None:
    assert len(year.secrets_seen) >= 5
    invocations = year.account.invocations
    text = "\n".join(line for i in invocations for line in i.log_lines) + "\n".join(str(i.result) for i in invocations)
    leaked = [secret[:4] + "…" for secret in year.secrets_seen if secret in text]
    assert leaked == []


def test_the_legacy_consumer_is_measured(year: Year) -> None:
    # The other tests rely on the legacy consumer having signed every day of the year
    assert len(year.legacy_calls) == DAYS and year.state(0, LEGACY) is not None


def test_a_dry_run_plans_without_changing_anything(year: Year) -> None:
    account = year.account
    iam = account.admin_client("iam")
    users_before = {u["UserName"] for u in iam.list_users()["Users"]}
    report = account.invoke(
        "create_keys", {"action": "create_user", "user_name": "dry-run-user", "owner": OWNER, "dry_run": True}
    )
    assert report["dry_run"] is True and report["errors"] == []
    assert [(a["action"], a["status"]) for a in report["actions"]] == [
        ("create_user", "planned"),
        ("create_key", "planned"),
    ]
    assert {u["UserName"] for u in iam.list_users()["Users"]} == users_before


def test_a_bad_manual_payload_names_the_fields_and_changes_nothing(year: Year) -> None:
    account = year.account
    users_before = {u["UserName"] for u in account.admin_client("iam").list_users()["Users"]}
    report = account.invoke("create_keys", {"action": "create_user", "user_name": "bad name!", "owner": ""})
    assert account.invocations[-1].ok
    assert any("user_name" in e for e in report["errors"]) and any("owner" in e for e in report["errors"])
    assert {u["UserName"] for u in account.admin_client("iam").list_users()["Users"]} == users_before
