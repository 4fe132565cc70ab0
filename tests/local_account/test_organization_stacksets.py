"""Service-managed StackSets in the local organization, deployed as a template's `AWS::CloudFormation::StackSet`
through the management account's CloudFormation, as AWS deploys them: an instance in every ACTIVE account below
the target OUs however deep, never in the management account, `AccountFilterType` applied, and automatic
deployment (an account joining or moving into a target OU gets the instance, one leaving or moving out loses it,
its stack deleted unless RetainStacksOnAccountRemoval)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from local_account import LocalOrganization
from local_account.emulator import stacksets


@pytest.fixture(scope="module")
def org() -> Iterator[LocalOrganization]:
    with LocalOrganization.create(members={}, start=datetime(2026, 1, 5, 10, tzinfo=UTC)) as organization:
        yield organization


@dataclass
class Tree:
    """A test's own OUs, `<top>/Dev`, `<top>/Dev/Team/Squad` and `<top>/Prod`, and an account in each
    (`<top>-dev`, `<top>-deep`, `<top>-prod`); `<top>-sandbox` sits in `<top>-Sandbox`, outside `<top>`."""

    top: str
    dev: str
    deep: str
    prod: str
    sandbox: str


def _tree(org: LocalOrganization, top: str) -> Tree:
    places = {"dev": f"{top}/Dev", "deep": f"{top}/Dev/Team/Squad", "prod": f"{top}/Prod", "sandbox": f"{top}-Sandbox"}
    return Tree(top, *(org.add_account(f"{top}-{key}", ou=path).account_id for key, path in places.items()))


def _spoke_template(name: str) -> str:
    """What each target account gets: one role, named after the StackSet."""
    trust = {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    role = {"RoleName": f"{name}-role", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]}}
    return json.dumps({"Resources": {"SpokeRole": {"Type": "AWS::IAM::Role", "Properties": role}}})


def _deploy(org: LocalOrganization, name: str, targets: dict[str, Any], *, retain: bool = False) -> None:
    stack_set = {
        "Type": "AWS::CloudFormation::StackSet",
        "Properties": {
            "StackSetName": name,
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": retain},
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "TemplateBody": _spoke_template(name),
            "StackInstancesGroup": [{"DeploymentTargets": targets, "Regions": [org.hub.region]}],
        },
    }
    cloudformation = org.hub.admin_client("cloudformation")
    cloudformation.create_stack(
        StackName=f"{name}-stack", TemplateBody=json.dumps({"Resources": {"Spokes": stack_set}})
    )
    assert cloudformation.describe_stacks(StackName=f"{name}-stack")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def _instances(org: LocalOrganization, name: str) -> set[str]:
    summaries = org.hub.admin_client("cloudformation").list_stack_instances(StackSetName=name)["Summaries"]
    return {summary["Account"] for summary in summaries}


def _has_role(org: LocalOrganization, account_id: str, name: str) -> bool:
    member = next(m for m in org.members.values() if m.account_id == account_id)
    roles = member.admin_client("iam").list_roles()["Roles"]
    return f"{name}-role" in {role["RoleName"] for role in roles}


def test_instances_reach_every_account_below_the_target_ous_however_deep(org: LocalOrganization) -> None:
    # AWS: targeting an OU deploys to "all accounts in the OU and its child OUs".
    tree = _tree(org, "Depth")
    _deploy(org, "depth", {"OrganizationalUnitIds": [org.ou_id("Depth")]})
    assert _instances(org, "depth") == {tree.dev, tree.deep, tree.prod}
    assert _has_role(org, tree.deep, "depth") and _has_role(org, tree.prod, "depth")
    assert not _has_role(org, tree.sandbox, "depth")


def test_the_root_as_target_reaches_every_member_but_never_the_management_account(org: LocalOrganization) -> None:
    # AWS: "StackSets doesn't deploy stack instances to the organization's management account, even if the
    # management account is in your organization or in an OU in your organization."
    tree = _tree(org, "Everywhere")
    _deploy(org, "everywhere", {"OrganizationalUnitIds": [org.root_id]})
    instances = _instances(org, "everywhere")
    assert {tree.dev, tree.deep, tree.prod, tree.sandbox} <= instances
    assert instances == {member.account_id for member in org.members.values()}
    assert org.hub.account_id not in instances
    roles = org.hub.admin_client("iam").list_roles()["Roles"]
    assert "everywhere-role" not in {role["RoleName"] for role in roles}


def test_accounts_excluded_with_account_filter_type_difference_get_no_instance(org: LocalOrganization) -> None:
    # AWS: AccountFilterType DIFFERENCE deploys to the OUs' accounts except those listed in Accounts.
    tree = _tree(org, "Filtered")
    targets = {
        "OrganizationalUnitIds": [org.ou_id("Filtered")],
        "Accounts": [tree.dev],
        "AccountFilterType": "DIFFERENCE",
    }
    _deploy(org, "filtered", targets)
    assert _instances(org, "filtered") == {tree.deep, tree.prod}
    assert not _has_role(org, tree.dev, "filtered")


def test_only_active_accounts_get_an_instance(org: LocalOrganization) -> None:
    # AWS deploys to ACTIVE accounts only; a closed (SUSPENDED) account loses its automatic deployment's instance.
    tree = _tree(org, "Closing")
    _deploy(org, "closing", {"OrganizationalUnitIds": [org.ou_id("Closing")]})
    org.hub.admin_client("organizations").close_account(AccountId=tree.prod)
    assert _instances(org, "closing") == {tree.dev, tree.deep}
    _deploy(org, "closed", {"OrganizationalUnitIds": [org.ou_id("Closing")]})
    assert _instances(org, "closed") == {tree.dev, tree.deep}


def test_an_account_added_to_a_target_ou_gets_an_instance(org: LocalOrganization) -> None:
    # AWS automatic deployment: "StackSets automatically deploys additional stack instances to AWS Organizations
    # accounts that are added to a target organization or organizational unit (OU) in the future."
    _tree(org, "Joining")
    _deploy(org, "joining", {"OrganizationalUnitIds": [org.ou_id("Joining")]})
    late = org.add_account("joining-late", ou="Joining/Dev/Team")
    assert late.account_id in _instances(org, "joining") and _has_role(org, late.account_id, "joining")
    outside = org.add_account("joining-outside", ou="Joining-Sandbox")
    assert outside.account_id not in _instances(org, "joining")
    assert not _has_role(org, outside.account_id, "joining")


def test_an_account_moved_into_or_out_of_a_target_ou_gains_or_loses_its_instance(org: LocalOrganization) -> None:
    tree = _tree(org, "Moving")
    _deploy(org, "moving", {"OrganizationalUnitIds": [org.ou_id("Moving")]})
    org.move_account("Moving-sandbox", ou="Moving/Prod")
    assert tree.sandbox in _instances(org, "moving") and _has_role(org, tree.sandbox, "moving")
    org.move_account("Moving-dev", ou="Moving-Sandbox")
    assert tree.dev not in _instances(org, "moving") and not _has_role(org, tree.dev, "moving")


def test_a_removed_account_loses_its_instance_and_stack(org: LocalOrganization) -> None:
    # AWS: with automatic deployment, an account removed from the target OUs loses its stack instance, and its
    # stack's resources unless RetainStacksOnAccountRemoval.
    tree = _tree(org, "Leaving")
    _deploy(org, "leaving", {"OrganizationalUnitIds": [org.ou_id("Leaving")]})
    leaving = org.account("Leaving-prod")
    org.remove_account("Leaving-prod")
    assert _instances(org, "leaving") == {tree.dev, tree.deep}
    assert "leaving-role" not in {role["RoleName"] for role in leaving.admin_client("iam").list_roles()["Roles"]}


def test_a_removed_account_keeps_its_stack_when_the_stack_set_retains_stacks(org: LocalOrganization) -> None:
    tree = _tree(org, "Kept")
    _deploy(org, "kept", {"OrganizationalUnitIds": [org.ou_id("Kept")]}, retain=True)
    leaving = org.account("Kept-prod")
    org.remove_account("Kept-prod")
    assert _instances(org, "kept") == {tree.dev, tree.deep}
    assert "kept-role" in {role["RoleName"] for role in leaving.admin_client("iam").list_roles()["Roles"]}


def test_deleting_the_stack_deletes_the_stack_set_and_its_instances(org: LocalOrganization) -> None:
    tree = _tree(org, "Gone")
    _deploy(org, "gone", {"OrganizationalUnitIds": [org.ou_id("Gone")]})
    assert _has_role(org, tree.deep, "gone")
    org.hub.admin_client("cloudformation").delete_stack(StackName="gone-stack")
    assert "gone" not in stacksets.deployments()
    assert not _has_role(org, tree.deep, "gone")
