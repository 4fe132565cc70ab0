"""Organization mode in the local organization: the hub deployed with the real CDK CLI, the spokes deployed by the
StackSets into the member accounts, the hub's functions acting in a member through its spoke role, and the hub's
schedules running the state machines over the organization for a simulated stretch of days."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_account import LocalOrganization
from local_account.organization_story import Joining, OrganizationStory
from local_account.story import START, demo_context

pytestmark = pytest.mark.e2e

MEMBERS = {"dev": "Workloads/Dev", "prod": "Workloads/Prod", "sandbox": "Sandbox"}
# Beside them: a nested OU's account that plays the demo's story, an excluded one, one whose spoke roles go.
OTHERS = {"team": "Workloads/Dev/Team", "excluded": "Sandbox", "broken": "Workloads/Prod"}
# The demo's daily schedules, with the lifecycle's ages shortened so that 22 days hold a rotation, the replaced
# key's deactivation and deletion, and an expired user's cleanup in every account that plays the story.
DAYS = 22
CONTEXT = {
    **demo_context(),
    "rotate_after_days": 10,
    "max_key_age_days": 20,
    "stale_after_days": 14,
    # The default tolerated failure percentage (10): the broken account's failure, one of six, is caught into its
    # result, so every map run completes, the others proceed and each run report names it.
    "organization": {"exclude_accounts": ["excluded"]},
}


@pytest.fixture(scope="module")
def org() -> Iterator[LocalOrganization]:
    organization = LocalOrganization.deploy(members={**MEMBERS, **OTHERS}, context=CONTEXT, start=START)
    try:
        yield organization
    finally:
        organization.close()


def create(org: LocalOrganization, name: str, user_name: str) -> dict[str, Any]:
    event = {"action": "create_user", "user_name": user_name, "owner": "team@example.com", "ttl_days": 30}
    result: dict[str, Any] = org.invoke("create_keys", {**event, "account_id": org.account(name).account_id})
    return result


def users(org: LocalOrganization, name: str | None = None) -> list[str]:
    iam = org.hub.admin_client("iam") if name is None else org.account(name).admin_client("iam")
    return sorted(u["UserName"] for u in iam.list_users(PathPrefix="/temporary/")["Users"])


def test_the_spoke_is_in_every_member_account_with_one_role_per_function(org: LocalOrganization) -> None:
    for name in MEMBERS:
        roles = org.account(name).admin_client("iam").list_roles(PathPrefix="/iam-key-lifecycle/")["Roles"]
        assert {r["RoleName"] for r in roles} >= {
            "IamKeyLifecycleSpoke-create-keys",
            "IamKeyLifecycleSpoke-rotate-keys",
            "IamKeyLifecycleSpoke-cleanup-users",
            "IamKeyLifecycleSpoke-detect-changes",
        }


def test_creates_in_two_member_accounts_make_the_user_and_its_secret_there_and_nothing_in_the_hub(
    org: LocalOrganization,
) -> None:
    # When the hub's create function is asked for a user in dev and one in prod
    made = {name: create(org, name, f"{name}-user") for name in ("dev", "prod")}
    # Then each is verified in its own account, with its secret there, and the hub holds no temporary user
    for name, report in made.items():
        assert report["errors"] == [] and report["verification"] == "verified", report
        assert report["account_id"] == org.account(name).account_id
        assert f":{org.account(name).account_id}:" in report["secret_arn"]
        assert users(org, name) == [f"{name}-user"]
        secrets = org.account(name).admin_client("secretsmanager").list_secrets()["SecretList"]
        assert [s["Name"] for s in secrets] == [f"temporary-iam-users/{name}-user"]
        assert "secret_access_key" not in str(report)
    assert users(org) == []


@pytest.mark.parametrize("bad", ["12345", "1234567890123", "abcdefghijkl", "000000000000"])
def test_a_bad_account_id_is_refused_by_name_and_nothing_changes_anywhere(org: LocalOrganization, bad: str) -> None:
    before = {name: users(org, name) for name in MEMBERS}
    event = {"action": "create_user", "user_name": "nobody", "owner": "team@example.com", "account_id": bad}
    report = org.hub.invoke("create_keys", event)
    assert report["errors"] and all(error.startswith("account_id") for error in report["errors"]), report
    assert {name: users(org, name) for name in MEMBERS} == before and users(org) == []


def test_an_assume_role_the_spoke_trust_does_not_allow_is_refused(org: LocalOrganization) -> None:
    # The spoke's create-keys role trusts the hub's create-keys function role only (aws:PrincipalArn).
    role = f"arn:aws:iam::{org.account('dev').account_id}:role/iam-key-lifecycle/IamKeyLifecycleSpoke-create-keys"
    as_create = org.hub.client("sts", credentials=org.hub.role_credentials("create_keys"))
    assert as_create.assume_role(RoleArn=role, RoleSessionName="allowed")["Credentials"]["AccessKeyId"]
    for caller in (org.hub.role_credentials("rotate_keys"), org.hub.admin_credentials):
        with pytest.raises(ClientError) as refused:
            org.hub.client("sts", credentials=caller).assume_role(RoleArn=role, RoleSessionName="refused")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_stretch_of_schedules_keeps_every_invariant_in_every_member_account(org: LocalOrganization) -> None:
    # Given the demo's story in two member accounts (one in a nested OU) and one that joins on day 2, an excluded
    # account holding an expired look-alike managed user, and an account whose spoke roles an administrator deleted
    story = OrganizationStory(
        org,
        days=DAYS,
        members=["sandbox", "team"],
        joining=[Joining("late", day=2, ou="Workloads/Dev")],
        excluded=["excluded"],
        broken=["broken"],
        bystanders=["dev", "prod"],
    )
    story.seed()
    # When the hub's schedules run for the stretch (each starting its state machine over the organization)
    story.run()
    # Then every invariant of `make demo` holds in each member, and the organization's hold
    assert story.broken_invariants() == {}
    invariants = story.invariants()
    assert set(invariants) == {"sandbox", "team", "late", "organization"}
    assert all(invariant.checks > 0 for invariant in invariants["organization"])
    # Every job ran as a state machine, and each run's report names the broken account with its reason
    reports = org.run_reports()
    assert {r["organization"]["job"] for r in reports} >= {"reconcile", "rotate", "cleanup"}
    broken = org.account("broken").account_id
    assert all(run["status"] == "SUCCEEDED" for run in org.runs), [r.get("error") for r in org.runs]
    for report in reports:
        section = report["organization"]
        assert "map_failed" not in section
        (failed,) = section["accounts_failed"]
        assert failed == {"account_id": broken, "reason": "AwsError: AssumeRole failed: AccessDenied"}, failed
        # The others proceed: every other target account is done in the same run
        assert broken not in section["accounts_done"] and len(section["accounts_done"]) == section["accounts"] - 1
    # The lifecycle happened in every account playing the story: created, rotated, deactivated, deleted
    for name in ("sandbox", "team", "late"):
        account_id = org.account(name).account_id
        done = {
            action["action"]
            for invocation in org.hub.invocations
            if isinstance(invocation.event, dict) and invocation.event.get("account_id") == account_id
            for action in (invocation.result or {}).get("actions") or []
            if action.get("status") == "done"
        }
        assert done >= {"create_user", "create_key", "deactivate_key", "delete_user", "delete_secret"}, (name, done)


def test_advance_fires_the_hub_schedules_which_start_the_state_machines(org: LocalOrganization) -> None:
    # When a day passes (after the stretch above: every account as it stands)
    before = len(org.runs)
    fired = org.advance(days=1)
    runs = org.runs[before:]
    # Then each schedule due started its state machine, which listed the accounts, ran in each and reported once
    assert runs and all(run["status"] == "SUCCEEDED" for run in runs)
    jobs = [json.loads(run["output"])["organization"]["job"] for run in runs]
    assert {"reconcile", "cleanup"} <= set(jobs)
    actions = [i.event.get("action") for i in fired if isinstance(i.event, dict)]
    assert actions.count("list_accounts") == actions.count("aggregate_runs") == len(runs)
    # (the operator's digest is the hub's own, one message a day: its schedule invokes the function directly)
    assert all(i.source == "state machine" for i in fired if i.event != {"action": "digest"})
