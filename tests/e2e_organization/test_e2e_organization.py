"""Organization mode in the local organization: the hub deployed with the real CDK CLI, the spokes deployed by the
StackSets into the member accounts, and the hub's functions acting in a member through its spoke role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local_account import LocalOrganization
from local_account.story import START

pytestmark = pytest.mark.e2e

MEMBERS = {"dev": "Workloads/Dev", "prod": "Workloads/Prod", "sandbox": "Sandbox"}


@pytest.fixture(scope="module")
def org() -> Iterator[LocalOrganization]:
    organization = LocalOrganization.deploy(members=MEMBERS, start=START)
    try:
        yield organization
    finally:
        organization.close()


def create(org: LocalOrganization, name: str, user_name: str) -> dict[str, Any]:
    event = {"action": "create_user", "user_name": user_name, "owner": "team@example.com", "ttl_days": 30}
    result: dict[str, Any] = org.hub.invoke("create_keys", {**event, "account_id": org.account(name).account_id})
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
