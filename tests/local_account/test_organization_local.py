"""LocalOrganization: the local account as an organization's management (hub) account, with member accounts in
OUs by path, each with its own administrator, and AssumeRole judged by each role's trust policy as AWS does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from local_account import LocalAccountError, LocalOrganization

MEMBERS = {"dev": "Workloads/Dev", "prod": "Workloads/Prod", "sandbox": "Sandbox"}


@pytest.fixture(scope="module")
def org() -> Iterator[LocalOrganization]:
    with LocalOrganization.create(members=MEMBERS, start=datetime(2026, 1, 5, 10, tzinfo=UTC)) as organization:
        yield organization


def _spoke_trust(org: LocalOrganization, principal_arn: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{org.hub.account_id}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {
                        "ArnEquals": {"aws:PrincipalArn": principal_arn},
                        "StringEquals": {"aws:PrincipalOrgID": org.organization_id},
                    },
                }
            ],
        }
    )


def test_the_organization_is_managed_from_the_hub_account(org: LocalOrganization) -> None:
    described = org.hub.admin_client("organizations").describe_organization()["Organization"]
    assert described["Id"] == org.organization_id
    assert described["MasterAccountId"] == org.hub.account_id
    assert org.root_id.startswith("r-")


def test_each_member_is_an_account_of_its_own_in_the_ou_its_path_names(org: LocalOrganization) -> None:
    organizations = org.hub.admin_client("organizations")
    ids = {name: org.account(name).account_id for name in MEMBERS}
    assert len(set(ids.values()) | {org.hub.account_id}) == len(MEMBERS) + 1
    for name, path in MEMBERS.items():
        parent = organizations.list_parents(ChildId=ids[name])["Parents"][0]["Id"]
        assert parent == org.ou_id(path)
    # Nested OUs: Dev and Prod sit in Workloads, which sits in the root
    assert organizations.list_parents(ChildId=org.ou_id("Workloads/Dev"))["Parents"][0]["Id"] == org.ou_id("Workloads")
    assert organizations.list_parents(ChildId=org.ou_id("Workloads"))["Parents"][0]["Id"] == org.root_id
    assert org.ou_id("") == org.root_id


def test_a_members_admin_client_acts_in_that_account_only(org: LocalOrganization) -> None:
    dev, prod = org.account("dev"), org.account("prod")
    identity = dev.admin_client("sts").get_caller_identity()
    assert identity["Account"] == dev.account_id
    assert identity["Arn"] == f"arn:aws:iam::{dev.account_id}:user/administrator"
    dev.admin_client("iam").create_user(UserName="only-in-dev")
    assert "only-in-dev" in {u["UserName"] for u in dev.admin_client("iam").list_users()["Users"]}
    assert "only-in-dev" not in {u["UserName"] for u in prod.admin_client("iam").list_users()["Users"]}
    assert "only-in-dev" not in {u["UserName"] for u in org.hub.admin_client("iam").list_users()["Users"]}


def test_the_management_account_reaches_a_member_through_its_organization_access_role(org: LocalOrganization) -> None:
    # AWS creates OrganizationAccountAccessRole in every account it creates: trusted by the management account,
    # with AdministratorAccess.
    member = org.account("sandbox")
    credentials = org.hub.admin_client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{member.account_id}:role/OrganizationAccountAccessRole", RoleSessionName="ops"
    )["Credentials"]
    iam = org.hub.client("iam", credentials=credentials)
    assert iam.get_role(RoleName="OrganizationAccountAccessRole")["Role"]["Arn"].startswith(
        f"arn:aws:iam::{member.account_id}:"
    )
    # And a member cannot assume it in another member: its trust names the management account only
    with pytest.raises(ClientError) as refused:
        org.account("dev").admin_client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{member.account_id}:role/OrganizationAccountAccessRole", RoleSessionName="ops"
        )
    assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_a_spoke_role_is_assumable_by_the_trusted_hub_role_only(org: LocalOrganization) -> None:
    # Given a hub function role, another hub role, and in dev a spoke role trusting the first within the organization
    hub_iam = org.hub.admin_client("iam")
    lambda_trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": org.hub.account_id}, "Action": "sts:AssumeRole"}],
        }
    )
    allow_assume = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}
    )
    roles: dict[str, Any] = {}
    for name in ("hub-function", "hub-other"):
        roles[name] = hub_iam.create_role(
            RoleName=name, Path="/iam-key-lifecycle/", AssumeRolePolicyDocument=lambda_trust
        )["Role"]
        hub_iam.put_role_policy(RoleName=name, PolicyName="assume", PolicyDocument=allow_assume)
    dev = org.account("dev")
    spoke = dev.admin_client("iam").create_role(
        RoleName="IamKeyLifecycleSpoke-create-keys",
        Path="/iam-key-lifecycle/",
        AssumeRolePolicyDocument=_spoke_trust(org, roles["hub-function"]["Arn"]),
    )["Role"]

    def session_of(role: str) -> Any:
        credentials = org.hub.admin_client("sts").assume_role(RoleArn=roles[role]["Arn"], RoleSessionName="fn")
        return org.hub.client("sts", credentials=credentials["Credentials"])

    # When the hub function role assumes it, Then it acts in dev
    assumed = session_of("hub-function").assume_role(RoleArn=spoke["Arn"], RoleSessionName="run")
    assert assumed["AssumedRoleUser"]["Arn"].startswith(f"arn:aws:sts::{dev.account_id}:assumed-role/")
    # And any other principal, of the hub or of a member, is refused
    for caller in (session_of("hub-other"), org.hub.admin_client("sts"), org.account("prod").admin_client("sts")):
        with pytest.raises(ClientError) as refused:
            caller.assume_role(RoleArn=spoke["Arn"], RoleSessionName="run")
        assert refused.value.response["Error"]["Code"] == "AccessDenied"


def test_an_account_that_leaves_the_organization_no_longer_meets_principal_org_id(org: LocalOrganization) -> None:
    # Given a role in dev trusting the account root of a member within the organization
    late = org.add_account("leaver", ou="Sandbox")
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{late.account_id}:root"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": org.organization_id}},
                }
            ],
        }
    )
    role = org.account("dev").admin_client("iam").create_role(RoleName="from-leaver", AssumeRolePolicyDocument=trust)
    caller = late.admin_client("sts")
    caller.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="before")
    # When the member leaves, Then the same AssumeRole is refused
    org.remove_account("leaver")
    with pytest.raises(ClientError) as refused:
        caller.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName="after")
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(LocalAccountError):
        org.account("leaver")


def test_an_account_joins_in_a_new_nested_ou(org: LocalOrganization) -> None:
    joined = org.add_account("analytics", ou="Workloads/Data/Analytics")
    parent = org.hub.admin_client("organizations").list_parents(ChildId=joined.account_id)["Parents"][0]["Id"]
    assert parent == org.ou_id("Workloads/Data/Analytics")
    assert joined.admin_client("sts").get_caller_identity()["Account"] == joined.account_id
    with pytest.raises(LocalAccountError):
        org.add_account("analytics", ou="Sandbox")


def test_a_member_moves_between_ous(org: LocalOrganization) -> None:
    moved = org.add_account("mover", ou="Sandbox")
    org.move_account("mover", ou="Workloads/Prod")
    parent = org.hub.admin_client("organizations").list_parents(ChildId=moved.account_id)["Parents"][0]["Id"]
    assert parent == org.ou_id("Workloads/Prod") and moved.ou_path == "Workloads/Prod"
