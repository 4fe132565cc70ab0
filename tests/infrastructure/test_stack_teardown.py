"""Teardown, rollback and redeploy: every stateful resource has a deliberate deletion policy, and no template
holds the contradictions that make `make destroy` or a failed first create get stuck.

CloudFormation (DeletionPolicy attribute): `Delete` removes the resource with the stack; `Retain` keeps it on
stack deletion and, on a failed create, through the rollback too; `RetainExceptOnCreate` keeps it on stack
deletion but removes it when the stack's first create rolls back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app import build_app
from stacks.config import cdk_json_context

# Resource type → the deletion policy chosen for it, and why. A new stateful type must be added here.
CHOSEN_POLICY = {
    # The secrets key outlives the stack with the secrets it encrypts (made at run time, not by the stack).
    ("AWS::KMS::Key", "SecretsEncryption"): "RetainExceptOnCreate",
    # The topic's and the lock table's keys encrypt only what goes with the stack.
    ("AWS::KMS::Key", "Notifications"): "Delete",
    ("AWS::KMS::Key", "UserLocks"): "Delete",
    # The log groups' key lives as long as the log groups.
    ("AWS::KMS::Key", "FunctionsLogsKey"): "RetainExceptOnCreate",
    # Locks mean nothing without the stack.
    ("AWS::DynamoDB::Table", ""): "Delete",
    # The functions' logs are the record of what they did.
    ("AWS::Logs::LogGroup", ""): "RetainExceptOnCreate",
    # Dead-letter and on-failure queues: messages about a stack that no longer exists.
    ("AWS::SQS::Queue", ""): "Delete",
    # Only the stack's schedules live in it.
    ("AWS::Scheduler::ScheduleGroup", ""): "Delete",
    # The trail's logs are audit evidence; the buckets' names are generated, so keeping them blocks no retry. Not
    # RetainExceptOnCreate: a rollback would then try to delete buckets the trail may already have written to, and
    # CloudFormation cannot delete a bucket holding objects (ROLLBACK_FAILED).
    ("AWS::S3::Bucket", ""): "Retain",
}
# Made at run time by the functions, never by the stack: a template holding one would need a choice above.
MADE_AT_RUN_TIME = {"AWS::SecretsManager::Secret"}
# Properties that make the service refuse to delete a resource while they are on, whatever its type (DynamoDB and
# CloudWatch Logs DeletionProtectionEnabled, RDS/Neptune/ELB DeletionProtection, EC2 DisableApiTermination, ...).
DELETION_PROTECTION = {"DeletionProtectionEnabled", "DeletionProtection", "DisableApiTermination"}
# Properties that fix a resource's physical name (generated names differ per create; fixed ones collide).
NAME_PROPERTIES = {
    "AWS::KMS::Key": None,
    "AWS::DynamoDB::Table": "TableName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Scheduler::ScheduleGroup": "Name",
    "AWS::S3::Bucket": "BucketName",
}


@pytest.fixture(scope="module")
def cloud_assembly(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app synthesized for a region outside us-east-1 (the main stack and the forwarding stack), with every
    optional stateful resource switched on (the CloudTrail trail and its buckets)."""
    outdir = tmp_path_factory.mktemp("cdk-teardown")
    app = build_app({**cdk_json_context(), "create_cloudtrail_trail": True}, outdir=str(outdir), region="eu-west-1")
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
    return outdir


@pytest.fixture(scope="module")
def templates(cloud_assembly: Path) -> dict[str, dict[str, Any]]:
    found = {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in cloud_assembly.glob("*.template.json")
    }
    assert len(found) == 2, sorted(found)
    return found


@pytest.fixture(scope="module")
def manifest(cloud_assembly: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = json.loads((cloud_assembly / "manifest.json").read_text())
    return manifest


def _resources(templates: dict[str, dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(stack, logical_id, r) for stack, t in templates.items() for logical_id, r in t["Resources"].items()]


def _references(value: Any) -> list[str]:
    """The logical ids and pseudo parameters a template value refers to (Ref, Fn::GetAtt), at any depth."""
    if isinstance(value, list):
        return [r for item in value for r in _references(item)]
    if not isinstance(value, dict):
        return []
    if "Ref" in value:
        return [value["Ref"]]
    if "Fn::GetAtt" in value:
        return [value["Fn::GetAtt"][0]]
    return [r for item in value.values() for r in _references(item)]


def _chosen(resource_type: str, logical_id: str) -> str | None:
    for (kind, prefix), policy in CHOSEN_POLICY.items():
        if kind == resource_type and logical_id.startswith(prefix):
            return policy
    return None


def test_every_stateful_resource_has_its_chosen_deletion_policy(templates: dict[str, dict[str, Any]]) -> None:
    # Given every resource of a stateful type in every template
    stateful = [(s, i, r) for s, i, r in _resources(templates) if r["Type"] in NAME_PROPERTIES]
    assert {r["Type"] for _, _, r in stateful} == set(NAME_PROPERTIES)
    for stack, logical_id, resource in stateful:
        chosen = _chosen(resource["Type"], logical_id)
        # Then each has the policy chosen for it, on deletion and on replacement alike
        assert chosen is not None, f"{stack}/{logical_id}: no deletion policy chosen for {resource['Type']}"
        assert resource.get("DeletionPolicy", "Delete") == chosen, f"{stack}/{logical_id}"
        replace = "Retain" if chosen == "RetainExceptOnCreate" else chosen
        assert resource.get("UpdateReplacePolicy", "Delete") == replace, f"{stack}/{logical_id}"
    # And nothing else of any type is kept behind without a choice made here
    for stack, logical_id, resource in _resources(templates):
        if resource.get("DeletionPolicy", "Delete") != "Delete":
            assert _chosen(resource["Type"], logical_id) is not None, f"{stack}/{logical_id} ({resource['Type']})"


def test_nothing_deleted_with_the_stack_is_protected_from_deletion(templates: dict[str, dict[str, Any]]) -> None:
    # A protected resource with DeletionPolicy Delete fails `make destroy` (DELETE_FAILED) and turns a failed
    # first create into ROLLBACK_FAILED.
    for stack, logical_id, resource in _resources(templates):
        protected = sorted(p for p in DELETION_PROTECTION if resource.get("Properties", {}).get(p) not in (None, False))
        if protected:
            assert resource.get("DeletionPolicy") in ("Retain", "RetainExceptOnCreate"), (
                f"{stack}/{logical_id}: {protected} on, yet deleted with the stack"
            )


def test_no_stack_has_termination_protection(manifest: dict[str, Any]) -> None:
    # `cdk destroy` (make destroy) cannot delete a stack with termination protection on.
    stacks = {n: a for n, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"}
    assert len(stacks) == 2
    for name, artifact in stacks.items():
        assert not artifact.get("properties", {}).get("terminationProtection"), name


def test_no_stateful_resource_has_a_fixed_name(templates: dict[str, dict[str, Any]]) -> None:
    # A fixed name is the same in every create: left behind (retained, or a delete that failed) it makes the next
    # deploy fail with "already exists". No operator needs to know these names (the outputs give what they need).
    for stack, logical_id, resource in _resources(templates):
        name_property = NAME_PROPERTIES.get(resource["Type"])
        assert name_property is None or name_property not in resource.get("Properties", {}), f"{stack}/{logical_id}"


def test_no_resource_kept_through_a_rollback_has_a_fixed_name(templates: dict[str, dict[str, Any]]) -> None:
    # CloudFormation keeps a `Retain` resource through a failed create's rollback; with a fixed physical name the
    # retry then fails with "already exists". Any type: a name property holding a literal is fixed.
    for stack, logical_id, resource in _resources(templates):
        if resource.get("DeletionPolicy") != "Retain":
            continue
        fixed = [
            key
            for key, value in resource.get("Properties", {}).items()
            if (key == "Name" or key.endswith("Name")) and isinstance(value, str)
        ]
        assert not fixed, f"{stack}/{logical_id} is retained through a rollback and has a fixed name: {fixed}"


def test_resources_made_at_run_time_are_not_in_the_templates(templates: dict[str, dict[str, Any]]) -> None:
    # The secrets stay behind on destroy because the stack never owned them (README, Deploying to an AWS account);
    # should the stack ever declare one, its deletion policy must be chosen in CHOSEN_POLICY.
    assert not [i for _, i, r in _resources(templates) if r["Type"] in MADE_AT_RUN_TIME]


def test_no_key_policy_names_a_principal_created_by_the_stack(templates: dict[str, dict[str, Any]]) -> None:
    # KMS refuses a key policy whose principal is a role IAM has not propagated yet (MalformedPolicyDocumentException);
    # the account principal narrowed by aws:PrincipalArn never is. Every key of every template (the secrets key, the
    # topic's key), any principal built from a resource of the stack (Ref or GetAtt).
    for stack, logical_id, resource in _resources(templates):
        if resource["Type"] != "AWS::KMS::Key":
            continue
        for statement in resource["Properties"]["KeyPolicy"]["Statement"]:
            references = _references(statement.get("Principal", {}))
            assert all(r.startswith("AWS::") for r in references), f"{stack}/{logical_id}: {statement.get('Sid')}"
    main = templates["IamKeyLifecycle"]["Resources"]
    key = next(r for i, r in main.items() if i.startswith("SecretsEncryptionKey"))
    functions = next(
        s for s in key["Properties"]["KeyPolicy"]["Statement"] if s["Sid"] == "FunctionsUseTheKeyThroughSecretsManager"
    )
    roles = functions["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert sorted(r["Fn::GetAtt"][0][: -len("XXXXXXXX")] for r in roles) == [
        "FunctionsCreateKeysRole",
        "FunctionsRotateKeysRole",
    ]
    assert "kms:ViaService" in functions["Condition"]["StringEquals"]


def test_readme_says_what_stays_behind(templates: dict[str, dict[str, Any]]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Deploying to an AWS account", 1)[1].split("\n## ", 1)[0]
    for kept in ("secrets", "KMS key", "log groups", "trail"):
        assert kept in section, kept
