"""Organization mode against moto: the hub's functions act in member accounts through their spoke roles (moto's
cross-account AssumeRole lands in the member account's own state), after checking `account_id` against the
organization; one report for an organization run from a Distributed Map's result files."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from aws_lambda_powertools.utilities.typing import LambdaContext
from moto import mock_aws

from key_lifecycle.gateways.organizations import OrganizationsGateway
from key_lifecycle.handlers.common import reset_cold_start
from key_lifecycle.models.constants import (
    CONDITIONS_KEY_PREFIX,
    SPOKE_BOUNDARY_POLICY_NAME,
    SPOKE_GROUP_NAME,
    SPOKE_PATH,
    SPOKE_ROLE_NAME_PREFIX,
    SPOKE_SECRETS_KEY_ALIAS,
    spoke_boundary_arn,
)
from tests.support.cloudtrail import cloudtrail_event
from tests.support.moto_account import ACCOUNT_ID, OWNER, PATH, PREFIX, Account, FakeClock, Faults, wire_functions

LOCK_TABLE = "iam-key-lifecycle-locks"
START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
BOUNDARY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}


@dataclass
class Organization:
    hub: Account
    organization_id: str
    root_id: str
    ous: dict[str, str]
    members: dict[str, str]  # name → account id
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def admin(self, name: str, service: str) -> Any:
        """An administrator's client in a member account (OrganizationAccountAccessRole, as Organizations makes)."""
        if (name, service) not in self._clients:
            account_id = self.members[name]
            credentials = boto3.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="admin"
            )["Credentials"]
            self._clients[(name, service)] = boto3.client(
                service,
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        return self._clients[(name, service)]

    def users(self, name: str | None = None) -> list[str]:
        iam = self.hub.iam if name is None else self.admin(name, "iam")
        return sorted(u["UserName"] for u in iam.list_users(PathPrefix=PATH)["Users"])

    def secrets(self, name: str | None = None) -> list[str]:
        sm = self.hub.sm if name is None else self.admin(name, "secretsmanager")
        return sorted(s["Name"] for s in sm.list_secrets(IncludePlannedDeletion=True)["SecretList"])

    def lock_keys(self) -> set[str]:
        """The user locks' keys (the notified open conditions, under their own prefix, left out)."""
        return {key for key in self.table_keys() if not key.startswith(CONDITIONS_KEY_PREFIX)}

    def table_keys(self) -> set[str]:
        items = boto3.client("dynamodb").scan(TableName=LOCK_TABLE)["Items"]
        return {item["lock_key"]["S"] for item in items}


def _spoke(org: Organization, name: str) -> None:
    """What the spoke StackSet puts in a member account and the engine uses by name: the boundary, the group and the
    secrets key's alias."""
    iam = org.admin(name, "iam")
    iam.create_policy(PolicyName=SPOKE_BOUNDARY_POLICY_NAME, PolicyDocument=json.dumps(BOUNDARY))
    iam.create_group(GroupName=SPOKE_GROUP_NAME)
    kms = org.admin(name, "kms")
    kms.create_alias(AliasName=SPOKE_SECRETS_KEY_ALIAS, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])


@pytest.fixture
def traveller() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=True) as traveller:
        yield traveller


@pytest.fixture
def org(
    monkeypatch: pytest.MonkeyPatch, lambda_context: LambdaContext, traveller: time_machine.Traveller
) -> Iterator[Organization]:
    with mock_aws():
        hub = Account(lambda_context, Faults(), FakeClock())
        client = boto3.client("organizations")
        organization_id = client.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root_id = client.list_roots()["Roots"][0]["Id"]

        def ou(parent: str, name: str) -> str:
            return str(client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])

        workloads = ou(root_id, "Workloads")
        ous = {"Workloads": workloads, "Workloads/Dev": ou(workloads, "Dev"), "Workloads/Prod": ou(workloads, "Prod")}
        ous["Workloads/Dev/Team"] = ou(ous["Workloads/Dev"], "Team")
        ous["Sandbox"] = ou(root_id, "Sandbox")
        ous["Outside"] = ou(root_id, "Outside")
        placement = {
            "dev": "Workloads/Dev",
            "team": "Workloads/Dev/Team",
            "prod": "Workloads/Prod",
            "sandbox": "Sandbox",
            "closed": "Workloads/Prod",
            "excluded": "Workloads/Dev",
            "outside": "Outside",
        }
        members = {}
        for name, path in placement.items():
            status = client.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
            members[name] = status["AccountId"]
            client.move_account(AccountId=members[name], SourceParentId=root_id, DestinationParentId=ous[path])
        client.close_account(AccountId=members["closed"])
        boto3.client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            KeySchema=[{"AttributeName": "lock_key", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "lock_key", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        organization = Organization(hub, organization_id, root_id, ous, members)
        for name in ("dev", "team", "prod", "sandbox", "excluded", "outside"):
            _spoke(organization, name)
        wire_functions(
            monkeypatch,
            hub,
            env={
                "ORGANIZATION_ID": organization_id,
                "ORGANIZATION_TARGET_OUS": f"{workloads},{ous['Sandbox']}",
                "ORGANIZATION_EXCLUDE_ACCOUNTS": members["excluded"],
                "LOCK_TABLE_NAME": LOCK_TABLE,
            },
        )
        yield organization
        reset_cold_start()


def create(org: Organization, name: str, user_name: str = "u") -> dict[str, Any]:
    event = {"action": "create_user", "user_name": user_name, "owner": OWNER, "ttl_days": 365}
    return org.hub.invoke("create_keys", {**event, "account_id": org.members[name]})


# The target accounts ---------------------------------------------------------------------------------------


def test_list_accounts_walks_nested_ous_and_skips_suspended_and_excluded_accounts(org: Organization) -> None:
    report = org.hub.invoke("create_keys", {"action": "list_accounts"})
    assert report["errors"] == []
    expected = sorted(org.members[n] for n in ("dev", "team", "prod", "sandbox"))
    assert [a["account_id"] for a in report["accounts"]] == expected
    assert {a["name"] for a in report["accounts"]} == {"dev", "team", "prod", "sandbox"}
    skipped = {s["account_id"]: s["reason"] for s in report["organization"]["skipped"]}
    assert skipped == {org.members["closed"]: "suspended", org.members["excluded"]: "excluded"}
    # The hub's functions never touched a member account to list them
    assert "AssumeRole" not in org.hub.faults.operations()


def test_without_target_ous_every_active_account_of_the_organization_but_the_management_account_is_a_target(
    org: Organization,
) -> None:
    gateway = OrganizationsGateway(boto3.client("organizations"))
    targets = gateway.target_accounts([], [org.members["excluded"]])
    expected = {org.members[n] for n in ("dev", "team", "prod", "sandbox", "outside")}
    assert {a.account_id for a in targets.accounts} == expected
    # Service-managed StackSets never deploy to the management account: it has no spoke role to act through.
    assert targets.skipped == {
        org.members["closed"]: "suspended",
        org.members["excluded"]: "excluded",
        ACCOUNT_ID: "management account",
    }


def test_the_walk_reads_every_page_of_accounts_and_of_ous(org: Organization) -> None:
    # Given more accounts under one OU, and more OUs under one parent, than one page holds (moto: 20 a page)
    client = boto3.client("organizations")
    bulk = client.create_organizational_unit(ParentId=org.ous["Sandbox"], Name="Bulk")["OrganizationalUnit"]["Id"]
    placed = set()
    for number in range(25):
        status = client.create_account(Email=f"bulk{number}@example.com", AccountName=f"bulk{number}")
        placed.add(account_id := status["CreateAccountStatus"]["AccountId"])
        client.move_account(AccountId=account_id, SourceParentId=org.root_id, DestinationParentId=bulk)
    leaves = [
        client.create_organizational_unit(ParentId=bulk, Name=f"leaf{n}")["OrganizationalUnit"]["Id"] for n in range(22)
    ]
    status = client.create_account(Email="last@example.com", AccountName="last")["CreateAccountStatus"]
    client.move_account(AccountId=status["AccountId"], SourceParentId=org.root_id, DestinationParentId=leaves[-1])
    # When the targets are listed from the Sandbox OU
    targets = OrganizationsGateway(client).target_accounts([org.ous["Sandbox"]])
    # Then every account of every page and every level is there
    found = {a.account_id for a in targets.accounts}
    assert found == placed | {status["AccountId"], org.members["sandbox"]}


# account_id checks ---------------------------------------------------------------------------------------------

BAD_BY_SHAPE = ["12345", "1234567890123", 123456789012, "12345678901x"]


@pytest.mark.parametrize("bad", ["shape", "unknown", "closed", "excluded", "outside", "hub", *BAD_BY_SHAPE])
def test_a_bad_account_id_is_refused_by_name_and_nothing_changes_in_any_account(org: Organization, bad: Any) -> None:
    account_id = {
        "unknown": "111122223333",
        "closed": org.members["closed"],
        "excluded": org.members["excluded"],
        "outside": org.members["outside"],
        "hub": ACCOUNT_ID,
    }.get(bad, bad)
    if bad == "shape":
        account_id = "not-an-account"
    names = [n for n in ("dev", "team", "prod", "sandbox", "excluded", "outside")]
    before = {n: (org.users(n), org.secrets(n)) for n in names}
    user = {"action": "create_user", "user_name": "u", "owner": OWNER, "account_id": account_id}
    reports = [
        org.hub.invoke("create_keys", user),
        org.hub.invoke("create_keys", {"action": "report", "account_id": account_id}),
        org.hub.invoke("rotate_keys", {"account_id": account_id}),
        org.hub.invoke("cleanup_users", {"user_name": "u", "account_id": account_id}),
    ]
    for report in reports:
        assert report["errors"] and all(e.startswith("account_id:") for e in report["errors"]), report["errors"]
        assert report["actions"] == [] and report["user_arn"] is None
    # Nothing read or changed in any account: no role assumed, no IAM or Secrets Manager call, no lock taken
    operations = set(org.hub.faults.operations())
    assert "AssumeRole" not in operations
    assert not {op for op in operations if op.startswith(("Get", "List", "Create", "Tag"))} - {"ListParents"}
    assert {n: (org.users(n), org.secrets(n)) for n in names} == before
    assert org.users() == [] and org.secrets() == [] and org.lock_keys() == set()


def test_account_id_is_refused_when_organization_mode_is_off(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ORGANIZATION_ID")
    monkeypatch.delenv("ORGANIZATION_TARGET_OUS")
    monkeypatch.delenv("ORGANIZATION_EXCLUDE_ACCOUNTS")
    reset_cold_start()
    report = create(org, "dev")
    assert report["errors"] == [
        "account_id: organization mode is off (ORGANIZATION_ID is not set): leave it out to act on this account; "
        "nothing was read or changed in it"
    ]
    listed = org.hub.invoke("create_keys", {"action": "list_accounts"})
    assert listed["errors"] == ["action: list_accounts needs organization mode (ORGANIZATION_ID is not set)"]
    assert org.users("dev") == [] and org.users() == []


# Runs in a member account ----------------------------------------------------------------------------------


def test_a_create_in_a_member_account_creates_the_user_and_its_secret_there_and_nothing_in_the_hub(
    org: Organization,
) -> None:
    dev = org.members["dev"]
    report = create(org, "dev", "alice")
    assert report["errors"] == [] and report["account_id"] == dev
    assert report["verification"] == "verified"
    assert report["user_arn"] == f"arn:aws:iam::{dev}:user{PATH}alice"
    # The user, its boundary, its group and its secret are in the member account
    user = org.admin("dev", "iam").get_user(UserName="alice")["User"]
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == (spoke_boundary_arn("aws", dev))
    groups = org.admin("dev", "iam").list_groups_for_user(UserName="alice")["Groups"]
    assert [g["GroupName"] for g in groups] == [SPOKE_GROUP_NAME]
    assert org.secrets("dev") == [PREFIX + "alice"]
    assert report["secret_arn"].startswith(f"arn:aws:secretsmanager:us-east-1:{dev}:secret:{PREFIX}alice")
    # Nothing in the hub, nor in another member account
    assert org.users() == [] and org.secrets() == []
    assert org.users("prod") == [] and org.secrets("prod") == []
    # Through the create function's spoke role, in a session that names the function
    assumed = org.hub.faults.params_of("AssumeRole")
    role = f"arn:aws:iam::{dev}:role{SPOKE_PATH}{SPOKE_ROLE_NAME_PREFIX}create-keys"
    assert [(p["RoleArn"], p["RoleSessionName"]) for p in assumed] == [(role, "iam-key-lifecycle-create-keys")]
    # The secret access key is in the member's secret only, never in the report
    stored = json.loads(org.admin("dev", "secretsmanager").get_secret_value(SecretId=PREFIX + "alice")["SecretString"])[
        "secret_access_key"
    ]
    assert stored not in json.dumps(report)
    # The hub's lock table holds the user's lock by account
    assert org.lock_keys() == {f"{dev}/alice"}


def test_the_same_user_name_in_two_accounts_is_two_users_with_two_locks(org: Organization) -> None:
    assert create(org, "dev", "Bob")["errors"] == []
    assert create(org, "team", "Bob")["errors"] == []
    assert org.users("dev") == ["Bob"] and org.users("team") == ["Bob"]
    assert org.lock_keys() == {f"{org.members['dev']}/bob", f"{org.members['team']}/bob"}


def test_a_single_account_run_keeps_its_lock_keys_and_its_report(org: Organization) -> None:
    report = org.hub.create("carol")
    assert report["errors"] == [] and report["account_id"] is None
    assert org.users() == ["carol"] and org.lock_keys() == {"carol"}
    # (and the hub's own manual run is noted for the digest, in the open conditions' key space)
    assert org.table_keys() == {"carol", f"{CONDITIONS_KEY_PREFIX}manual"}
    assert org.users("dev") == []
    assert "AssumeRole" not in org.hub.faults.operations()


def test_a_rotation_in_a_member_account_rotates_there(org: Organization, traveller: time_machine.Traveller) -> None:
    dev = org.members["dev"]
    create(org, "dev", "dave")
    iam = org.admin("dev", "iam")
    (first,) = [k["AccessKeyId"] for k in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]]
    notified = len(org.hub.notifications())
    # When the daily rotation runs for the account 91 days later
    traveller.move_to(START + timedelta(days=91))
    report = org.hub.invoke("rotate_keys", {"account_id": dev})
    # Then the key is replaced in the member account
    assert report["errors"] == [] and report["account_id"] == dev
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("create_key", "done")]
    keys = {k["AccessKeyId"]: k["Status"] for k in iam.list_access_keys(UserName="dave")["AccessKeyMetadata"]}
    assert first in keys and len(keys) == 2
    assert org.users() == []
    # Through the rotate function's own spoke role
    roles = [p["RoleArn"] for p in org.hub.faults.params_of("AssumeRole")]
    assert roles[-1].endswith(f":role{SPOKE_PATH}{SPOKE_ROLE_NAME_PREFIX}rotate-keys")
    # And the user's owner is told by the hub's topic, naming the member account (the aggregate tells the operator
    # only of failed accounts)
    (message,) = org.hub.notifications()[notified:]
    assert message["attributes"] == {"owner": "platform-team@example.com", "kind": "run"}
    assert dev in message["message"]
    notified += 1
    # And a forced rotation of one user in the account is notified as today
    forced = org.hub.invoke("rotate_keys", {"user_name": "dave", "force": True, "account_id": dev})
    assert forced["account_id"] == dev
    assert len(org.hub.notifications()) >= notified


# The organization run's report -------------------------------------------------------------------------------

BUCKET = "iam-key-lifecycle-runs"


def _entry(account_id: str, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "ExecutionArn": f"arn:aws:states:us-east-1:{ACCOUNT_ID}:execution:rotate/Map:{account_id}",
        "Input": json.dumps({"account_id": account_id}),
        "InputDetails": {"Included": True},
        "Name": account_id,
        "Status": status,
        **fields,
    }


def _write_results(org: Organization, prefix: str, succeeded: list[Any], failed: list[Any]) -> str:
    s3 = boto3.client("s3")
    if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=BUCKET)
    run = f"{prefix}8a8b5c6e-0000-4000-8000-000000000001"
    files: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for kind, entries in (("SUCCEEDED", succeeded), ("FAILED", failed)):
        if entries:
            key = f"{run}/{kind}_0.json"
            s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(entries).encode())
            files[kind].append({"Key": key, "Size": 1})
    manifest = {"DestinationBucket": BUCKET, "MapRunArn": "arn:aws:states:::mapRun:rotate", "ResultFiles": files}
    s3.put_object(Bucket=BUCKET, Key=f"{run}/manifest.json", Body=json.dumps(manifest).encode())
    return f"{run}/manifest.json"


def test_aggregate_runs_gives_one_report_and_one_notification_for_the_organization_run(
    org: Organization, traveller: time_machine.Traveller
) -> None:
    dev, prod, sandbox = (org.members[n] for n in ("dev", "prod", "sandbox"))
    create(org, "dev", "erin")
    traveller.move_to(START + timedelta(days=91))
    # Given the map's children: dev and prod rotated, sandbox's spoke role refused
    outputs = {name: org.hub.invoke("rotate_keys", {"account_id": org.members[name]}) for name in ("dev", "prod")}
    cause = json.dumps({"errorType": "AwsError", "errorMessage": "AssumeRole failed: AccessDenied", "trace": []})
    manifest = _write_results(
        org,
        "rotate/",
        succeeded=[_entry(org.members[n], "SUCCEEDED", Output=json.dumps(outputs[n])) for n in ("dev", "prod")],
        failed=[_entry(sandbox, "FAILED", Error="States.TaskFailed", Cause=cause)],
    )
    notified = len(org.hub.notifications())
    # When the last step aggregates them (the map's ResultWriterDetails)
    event = {"action": "aggregate_runs", "job": "rotate", "result_writer": {"Bucket": BUCKET, "Key": manifest}}
    report = org.hub.invoke("create_keys", event)
    # Then one report names the accounts done, the account failed with its reason, and the actions by account
    section = report["organization"]
    assert report["errors"] == []
    assert section["job"] == "rotate" and section["accounts"] == 3
    assert section["accounts_done"] == sorted([dev, prod])
    assert section["accounts_failed"] == [
        {"account_id": sandbox, "reason": "States.TaskFailed: AwsError: AssumeRole failed: AccessDenied"}
    ]
    assert [(a["account_id"], a["user_name"], a["action"], a["status"]) for a in section["actions"]] == [
        (dev, "erin", "create_key", "done")
    ]
    # And it is notified once
    messages = org.hub.notifications()[notified:]
    assert len(messages) == 1
    assert messages[0]["subject"].startswith("IAM key lifecycle rotate, 3 accounts (1 failed): 1 done, 0 failed")
    body = messages[0]["message"]
    assert f"- {sandbox}: States.TaskFailed: AwsError: AssumeRole failed: AccessDenied" in body
    assert "3 accounts of the organization: 2 done, 1 failed" in body and "1 actions done" in body
    assert "owner" not in messages[0]["attributes"]
    # The same run found by its ResultWriter prefix
    by_prefix = {"action": "aggregate_runs", "job": "rotate", "result_writer": {"bucket": BUCKET, "prefix": "rotate/"}}
    assert org.hub.invoke("create_keys", by_prefix)["organization"] == section


def test_an_organization_run_where_every_account_succeeded_tells_the_operator_nothing(
    org: Organization, traveller: time_machine.Traveller
) -> None:
    # Given a run whose accounts all succeeded (their owners were told by each account's run)
    create(org, "dev", "fiona")
    traveller.move_to(START + timedelta(days=91))
    output = org.hub.invoke("rotate_keys", {"account_id": org.members["dev"]})
    manifest = _write_results(
        org, "quiet/", succeeded=[_entry(org.members["dev"], "SUCCEEDED", Output=json.dumps(output))], failed=[]
    )
    notified = len(org.hub.notifications())
    # When the last step aggregates it
    event = {"action": "aggregate_runs", "job": "rotate", "result_writer": {"Bucket": BUCKET, "Key": manifest}}
    report = org.hub.invoke("create_keys", event)
    # Then the report has it all, and no message repeats what the owners heard
    assert report["organization"]["accounts_failed"] == [] and report["organization"]["actions"]
    assert org.hub.notifications()[notified:] == []


def test_a_failed_map_run_is_still_reported_and_notified_with_the_results_it_wrote(
    org: Organization, traveller: time_machine.Traveller
) -> None:
    dev, sandbox = org.members["dev"], org.members["sandbox"]
    traveller.move_to(START + timedelta(days=3))
    started = datetime.now(UTC)
    # Given a map run that failed (its threshold exceeded) after writing dev done and sandbox's caught failure
    done = org.hub.invoke("cleanup_users", {"account_id": dev})
    cause = json.dumps({"errorType": "AwsError", "errorMessage": "AssumeRole failed: AccessDenied", "trace": []})
    caught = {"account_id": sandbox, "failed": {"Error": "AwsError", "Cause": cause}}
    traveller.shift(timedelta(seconds=40))
    _write_results(
        org,
        "cleanup/",
        succeeded=[
            _entry(dev, "SUCCEEDED", Output=json.dumps(done)),
            _entry(sandbox, "SUCCEEDED", Output=json.dumps(caught)),
        ],
        failed=[],
    )
    threshold = "States.ExceedToleratedFailureThreshold"
    event = {
        "action": "aggregate_runs",
        "job": "cleanup",
        "result_writer": {"bucket": BUCKET, "prefix": "cleanup/", "written_after": started.isoformat()},
        "map_failed": {"Error": threshold, "Cause": "The specified tolerated failure threshold was exceeded"},
    }
    notified = len(org.hub.notifications())
    # When the map state's Catch aggregates the run
    report = org.hub.invoke("create_keys", event)
    # Then the report says the map run failed and why, beside the accounts it reached, and it is notified once
    section = report["organization"]
    assert report["errors"][0].startswith(f"the map run over the accounts failed: {threshold}: The specified")
    assert section["map_failed"]["error"] == threshold
    assert section["accounts_done"] == [dev]
    assert section["accounts_failed"] == [
        {"account_id": sandbox, "reason": "AwsError: AssumeRole failed: AccessDenied"}
    ]
    assert len(org.hub.notifications()[notified:]) == 1
    # And a run that wrote nothing since the execution began is reported failed, not given an older run's results
    later = {
        **event,
        "result_writer": {**event["result_writer"], "written_after": (started + timedelta(hours=1)).isoformat()},
    }
    report = org.hub.invoke("create_keys", later)
    assert report["organization"]["accounts"] == 0
    assert "per-account results: no manifest.json under the prefix since the run began" in report["errors"][0]


def test_aggregate_runs_without_result_files_is_refused_by_field(org: Organization) -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    event = {"action": "aggregate_runs", "job": "cleanup", "result_writer": {"bucket": BUCKET, "prefix": "none/"}}
    report = org.hub.invoke("create_keys", event)
    assert report["errors"] == ["result_writer: no manifest.json under the prefix"]


def test_the_inventory_of_a_member_account(org: Organization) -> None:
    create(org, "prod", "frank")
    report = org.hub.invoke("create_keys", {"action": "report", "account_id": org.members["prod"]})
    assert report["errors"] == [] and report["account_id"] == org.members["prod"]
    assert [u["user_name"] for u in report["inventory"]["users"]] == ["frank"]
    assert org.hub.invoke("create_keys", {"action": "report"})["inventory"]["users"] == []


# Change detection across the organization ------------------------------------------------------------------


def _forwarded_key_event(org: Organization, name: str, user_name: str) -> tuple[str, dict[str, Any]]:
    """A person creates a key on a managed user in a member account; the spoke forwards CloudTrail's event."""
    akid = org.admin(name, "iam").create_access_key(UserName=user_name)["AccessKey"]["AccessKeyId"]
    event = cloudtrail_event("create_access_key_by_hand")
    event["account"] = event["detail"]["recipientAccountId"] = org.members[name]
    event["detail"]["requestParameters"]["userName"] = user_name
    event["detail"]["responseElements"]["accessKey"].update(accessKeyId=akid, userName=user_name)
    return akid, event


def test_an_event_forwarded_from_a_member_account_is_judged_and_acted_on_there(
    org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a managed user in the dev account, and a key created on it by hand there
    monkeypatch.setenv("OUT_OF_BAND_KEY_RESPONSE", "deactivate")
    create(org, "dev", "ci")
    akid, event = _forwarded_key_event(org, "dev", "ci")
    # When the forwarded event reaches the hub's detect function
    report = org.hub.invoke("detect_changes", event)
    # Then the user is read in the member account and the key deactivated there, nothing in the hub
    assert report["account_id"] == org.members["dev"] and report["errors"] == []
    assert report["change"]["kind"] == "access_key_created_out_of_band"
    assert [(a["action"], a["status"]) for a in report["actions"]] == [("deactivate_key", "done")]
    keys = org.admin("dev", "iam").list_access_keys(UserName="ci")["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys}[akid] == "Inactive"
    assert org.users() == []


def test_an_event_from_an_excluded_account_is_refused_by_account_and_changes_nothing(org: Organization) -> None:
    # Given a user made by hand in the excluded account, and a key created on it there
    org.admin("excluded", "iam").create_user(UserName="someone", Path=PATH)
    akid, event = _forwarded_key_event(org, "excluded", "someone")
    # When its event reaches the hub (an account not covered, e.g. excluded after the event was forwarded)
    report = org.hub.invoke("detect_changes", event)
    # Then it is refused naming the account, and the key is left as it is
    assert report["errors"] and report["errors"][0].startswith("account_id:")
    assert report["actions"] == []
    keys = org.admin("excluded", "iam").list_access_keys(UserName="someone")["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys} == {akid: "Active"}


# The prefer-roles advisor per account -------------------------------------------------------------------------


def test_advise_in_a_member_account_reads_its_keys_and_remembers_them_by_account(org: Organization) -> None:
    from local_account.emulator import cloudtrail

    cloudtrail.install()  # LookupEvents answers (with no events outside a local account) instead of moto's nothing
    create(org, "dev", "erin")
    report = org.hub.invoke("rotate_keys", {"action": "advise", "account_id": org.members["dev"]})
    assert report["errors"] == [] and report["account_id"] == org.members["dev"]
    (key,) = report["advice"]["keys"]
    assert key["user_name"] == "erin" and key["managed"] is True
    # No events in the member's history; its verification is its last use (GetAccessKeyLastUsed, in the member)
    assert key["recommendation"] == "keep_key" and "no management event" in key["reason"]
    assert f"{org.members['dev']}/advisor/state" in org.lock_keys()
    # The hub's own account is advised on its own, with its own memory
    assert org.hub.invoke("rotate_keys", {"action": "advise"})["advice"]["keys"] == []
    assert "advisor/state" in org.lock_keys()


def test_the_report_and_audit_of_a_member_account_show_that_accounts_advice(org: Organization) -> None:
    from local_account.emulator import cloudtrail

    cloudtrail.install()
    create(org, "dev", "erin")
    dev = org.members["dev"]
    org.hub.invoke("rotate_keys", {"action": "advise", "account_id": dev})
    # The member's report shows its key's advice, read from its own item (`<account>/advisor/state`)
    report = org.hub.invoke("create_keys", {"action": "report", "account_id": dev})
    ((key,),) = [u["keys"] for u in report["inventory"]["users"]]
    assert key["advice"] == "keep_key" and key["advised_at"] is not None
    audit = org.hub.invoke("create_keys", {"action": "audit", "account_id": dev})
    assert audit["audit"]["advice"]["counts"] == {"keep_key": 1}
    # The hub's own account, never advised, says so
    own = org.hub.invoke("create_keys", {"action": "audit"})
    assert own["audit"]["advice"]["keys"] == 0 and own["audit"]["advice"]["advised_at"] is None
