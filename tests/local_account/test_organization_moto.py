"""What moto 5.2.5 does for an organization, checked as AWS documents it: Organizations with nested OUs, accounts
keyed by id, cross-account AssumeRole landing in the member's own state, service-managed StackSets, and Step
Functions' Distributed Map (with moto's `execute_state_machine` setting). Where moto differs from AWS and the local
account does not close the gap yet, the test pins moto's behaviour and says so in its name (`moto_`), so a moto
upgrade that changes it fails here and the row in docs/aws-behaviour.md is revisited."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.iam.models import iam_backends

from tests.local_account.emulator_helpers import ACCOUNT, REGION

ROLE_TEMPLATE = json.dumps(
    {
        "Resources": {
            "SpokeRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": "spoke-role",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                },
            }
        }
    }
)


class Org:
    def __init__(self) -> None:
        self.client = boto3.client("organizations", region_name=REGION)
        self.id = self.client.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        self.root = self.client.list_roots()["Roots"][0]["Id"]

    def ou(self, name: str, parent: str) -> str:
        return str(self.client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])

    def account(self, name: str, parent: str | None = None) -> str:
        status = self.client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        if parent is not None:
            self.client.move_account(
                AccountId=status["AccountId"], SourceParentId=self.root, DestinationParentId=parent
            )
        return str(status["AccountId"])


@pytest.fixture
def org() -> Iterator[Org]:
    with mock_aws():
        yield Org()


def _roles(account: str) -> set[str]:
    return {role.name for role in iam_backends[account]["aws"].roles.values()}


# --- Organizations -----------------------------------------------------------------------------------------


def test_ous_nest_and_accounts_move_between_them_keyed_by_id(org: Org) -> None:
    workloads = org.ou("Workloads", org.root)
    dev = org.ou("Dev", workloads)
    account = org.account("dev", dev)
    assert len(account) == 12 and account != ACCOUNT
    assert org.client.list_parents(ChildId=dev)["Parents"][0]["Id"] == workloads
    assert [a["Id"] for a in org.client.list_accounts_for_parent(ParentId=dev)["Accounts"]] == [account]
    org.client.move_account(AccountId=account, SourceParentId=dev, DestinationParentId=workloads)
    assert org.client.list_accounts_for_parent(ParentId=dev)["Accounts"] == []
    assert org.client.describe_account(AccountId=account)["Account"]["Name"] == "dev"


def test_create_account_makes_an_organization_access_role_trusted_by_the_management_account(org: Org) -> None:
    account = org.account("dev")
    role = iam_backends[account]["aws"].get_role("OrganizationAccountAccessRole")
    principal = json.loads(role.assume_role_policy_document)["Statement"][0]["Principal"]
    assert principal == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    # AWS attaches AdministratorAccess to it; moto attaches nothing (emulator/organizations.py adds it).
    assert role.managed_policies == {} and role.policies == {}


def test_cross_account_assume_role_acts_in_the_members_own_state(org: Org) -> None:
    account = org.account("dev")
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="ops"
    )["Credentials"]
    member = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=REGION,
    )
    assert member.client("sts").get_caller_identity()["Account"] == account
    member.client("iam").create_user(UserName="in-member")
    assert "in-member" not in {u["UserName"] for u in boto3.client("iam", region_name=REGION).list_users()["Users"]}
    assert iam_backends[account]["aws"].get_user("in-member").account_id == account


def test_moto_lets_any_caller_assume_any_role_without_fidelity(org: Org) -> None:
    # AWS judges the trust policy (and refuses a role that does not exist); the local account does
    # (emulator/trust.py, test_organization_trust.py). Plain moto does not:
    sts = boto3.client("sts", region_name=REGION)
    assert sts.assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/missing", RoleSessionName="any")["Credentials"]


# --- StackSets ----------------------------------------------------------------------------------------------


def _stack_set(targets: list[str], **extra: Any) -> Any:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack_set(
        StackSetName="spokes",
        TemplateBody=ROLE_TEMPLATE,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        Capabilities=["CAPABILITY_NAMED_IAM"],
        **extra,
    )
    operation = cloudformation.create_stack_instances(
        StackSetName="spokes", DeploymentTargets={"OrganizationalUnitIds": targets}, Regions=[REGION]
    )
    status = cloudformation.describe_stack_set_operation(StackSetName="spokes", OperationId=operation["OperationId"])
    assert status["StackSetOperation"]["Status"] == "SUCCEEDED"
    return cloudformation


def test_a_service_managed_stack_set_deploys_its_resources_into_the_ous_accounts(org: Org) -> None:
    workloads = org.ou("Workloads", org.root)
    dev = org.ou("Dev", workloads)
    in_workloads, in_dev, outside = org.account("w", workloads), org.account("d", dev), org.account("o")
    cloudformation = _stack_set([workloads])
    instances = {s["Account"] for s in cloudformation.list_stack_instances(StackSetName="spokes")["Summaries"]}
    assert instances == {in_workloads, in_dev}  # the OU's child OU too
    assert "spoke-role" in _roles(in_workloads) and "spoke-role" in _roles(in_dev)
    assert "spoke-role" not in _roles(outside)


def test_a_service_managed_stack_set_requires_ou_targets(org: Org) -> None:
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack_set(
        StackSetName="spokes", TemplateBody=ROLE_TEMPLATE, PermissionModel="SERVICE_MANAGED"
    )
    with pytest.raises(ClientError):
        cloudformation.create_stack_instances(StackSetName="spokes", Accounts=[ACCOUNT], Regions=[REGION])


def test_moto_reaches_only_one_level_of_ous_below_a_target(org: Org) -> None:
    # AWS deploys to every account below a target OU, however deep. moto looks one level down only, so the root
    # as target misses Workloads/Dev.
    dev = org.ou("Dev", org.ou("Workloads", org.root))
    deep = org.account("deep", dev)
    cloudformation = _stack_set([org.root])
    instances = {s["Account"] for s in cloudformation.list_stack_instances(StackSetName="spokes")["Summaries"]}
    assert deep not in instances and "spoke-role" not in _roles(deep)


def test_moto_deploys_a_service_managed_stack_set_to_the_management_account(org: Org) -> None:
    # AWS: "StackSets doesn't deploy stack instances to the organization's management account, even if the
    # management account is in your organization or in an OU in your organization." moto does.
    org.account("member")
    cloudformation = _stack_set([org.root])
    instances = {s["Account"] for s in cloudformation.list_stack_instances(StackSetName="spokes")["Summaries"]}
    assert ACCOUNT in instances


def test_moto_neither_keeps_auto_deployment_nor_deploys_to_an_account_that_joins_later(org: Org) -> None:
    # AWS keeps AutoDeployment on the StackSet and deploys to an account that joins or moves into a target OU.
    workloads = org.ou("Workloads", org.root)
    cloudformation = _stack_set([workloads])
    assert "AutoDeployment" not in cloudformation.describe_stack_set(StackSetName="spokes")["StackSet"]
    late = org.account("late", workloads)
    instances = {s["Account"] for s in cloudformation.list_stack_instances(StackSetName="spokes")["Summaries"]}
    assert late not in instances and "spoke-role" not in _roles(late)


# --- Step Functions: Distributed Map --------------------------------------------------------------------------

STATES_ROLE = f"arn:aws:iam::{ACCOUNT}:role/states"


@pytest.fixture
def sfn() -> Iterator[Any]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        yield boto3.client("stepfunctions", region_name=REGION)


def _distributed_map(processor_start: str = "Item", states: dict[str, Any] | None = None, **map_fields: Any) -> str:
    return json.dumps(
        {
            "StartAt": "Accounts",
            "States": {
                "Accounts": {
                    "Type": "Map",
                    "ItemProcessor": {
                        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                        "StartAt": processor_start,
                        "States": states or {"Item": {"Type": "Pass", "End": True}},
                    },
                    "End": True,
                    **map_fields,
                }
            },
        }
    )


def _run(sfn: Any, definition: str, document: Any) -> dict[str, Any]:
    arn = sfn.create_state_machine(name=f"m{time.time_ns()}", definition=definition, roleArn=STATES_ROLE)
    execution = sfn.start_execution(stateMachineArn=arn["stateMachineArn"], input=json.dumps(document))
    for _ in range(200):
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution["executionArn"])
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.02)
    raise AssertionError("the execution did not finish")


def test_a_distributed_map_reads_its_items_from_s3_and_writes_its_results_to_s3(sfn: Any) -> None:
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="runs-bucket")
    accounts = [{"account_id": "111111111111"}, {"account_id": "222222222222"}]
    s3.put_object(Bucket="runs-bucket", Key="accounts.json", Body=json.dumps(accounts))
    reader = {
        "Resource": "arn:aws:states:::s3:getObject",
        "ReaderConfig": {"InputType": "JSON"},
        "Parameters": {"Bucket": "runs-bucket", "Key": "accounts.json"},
    }
    done = _run(sfn, _distributed_map(ItemReader=reader, MaxConcurrency=2), {})
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == accounts
    writer = {"Resource": "arn:aws:states:::s3:putObject", "Parameters": {"Bucket": "runs-bucket", "Prefix": "results"}}
    done = _run(sfn, _distributed_map(ItemsPath="$.items", ResultWriter=writer), {"items": [1, 2]})
    assert done["status"] == "SUCCEEDED"
    manifest = json.loads(done["output"])["ResultWriterDetails"]["Key"]
    assert manifest.startswith("results/") and manifest.endswith("/manifest.json")


def test_a_map_with_retry_backoff_and_jitter_is_accepted(sfn: Any) -> None:
    retry = [
        {
            "ErrorEquals": ["States.ALL"],
            "MaxAttempts": 2,
            "IntervalSeconds": 1,
            "BackoffRate": 2.0,
            "JitterStrategy": "FULL",
            "MaxDelaySeconds": 5,
        }
    ]
    assert _run(sfn, _distributed_map(ItemsPath="$.items", Retry=retry), {"items": [1]})["status"] == "SUCCEEDED"


def test_moto_parses_tolerated_failure_percentage_only_as_a_float(sfn: Any) -> None:
    # AWS accepts an integer (0-100). moto's ASL parser refuses `10` and accepts `10.0`.
    with pytest.raises(ClientError):
        sfn.create_state_machine(
            name="int", definition=_distributed_map(ItemsPath="$.i", ToleratedFailurePercentage=10), roleArn=STATES_ROLE
        )
    assert _run(sfn, _distributed_map(ItemsPath="$.i", ToleratedFailurePercentage=10.0), {"i": [1]})["status"] == (
        "SUCCEEDED"
    )


def test_moto_does_not_parse_item_batcher(sfn: Any) -> None:
    with pytest.raises(ClientError):
        sfn.create_state_machine(
            name="batched",
            definition=_distributed_map(ItemsPath="$.i", ItemBatcher={"MaxItemsPerBatch": 2}),
            roleArn=STATES_ROLE,
        )


FAIL_ON_TWO = {
    "Check": {
        "Type": "Choice",
        "Choices": [{"Variable": "$", "NumericEquals": 2, "Next": "Broken"}],
        "Default": "Fine",
    },
    "Broken": {"Type": "Fail", "Error": "Spoke.AccessDenied", "Cause": "the spoke role refused"},
    "Fine": {"Type": "Pass", "End": True},
}


@pytest.mark.parametrize("tolerance", [{}, {"ToleratedFailureCount": 0}, {"ToleratedFailurePercentage": 10.0}])
def test_moto_lets_a_distributed_map_succeed_past_its_tolerated_failures(sfn: Any, tolerance: dict[str, Any]) -> None:
    # AWS: a Map Run fails (States.ExceedToleratedFailureThreshold) once failed items exceed the tolerance, which
    # is 0 by default; here one item of three fails. moto ignores both tolerance fields and the failure.
    definition = _distributed_map("Check", FAIL_ON_TWO, ItemsPath="$.items", **tolerance)
    assert _run(sfn, definition, {"items": [1, 2, 3]})["status"] == "SUCCEEDED"
