"""Organization mode's templates: the spoke's roles and trust, the StackSets, the hub's AssumeRole grants, the state
machines' Distributed Map, the schedules that start them, and single-account mode left as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.organization import TEMPLATE_BODY_LIMIT
from stacks.permissions import HUB_ONLY_SIDS, SPOKE_ONLY_SIDS
from tests.support.stack_template import FUNCTIONS, ORGANIZATION_CONTEXT, ORGANIZATION_ID, Synth, render

pytestmark = pytest.mark.xdist_group("synth")

ORGANIZATION = ORGANIZATION_CONTEXT["organization"]
ORGANIZATION_TYPES = {
    "AWS::CloudFormation::StackSet",
    "AWS::StepFunctions::StateMachine",
    "AWS::Events::EventBusPolicy",
    "AWS::S3::Bucket",
}
# What a hub function role holds that no spoke role needs: its lock table, its on-failure queue and X-Ray (CDK's
# own statements, without a Sid), notifications and logs, and the AssumeRole into the spokes.
HUB_SIDS = HUB_ONLY_SIDS | {
    "TakeAndReleaseUserLocks",
    "UseTheLockTableKeyThroughDynamoDb",
    "ReadTheAdvisorMemory",
    "AssumeTheSpokeRoleInMemberAccounts",
    "ReadTheOrganization",
    "ReadTheRunResults",
}
JOBS = {
    "Reconcile": ("create_keys", {"action": "reconcile"}),
    "Rotate": ("rotate_keys", {}),
    "Cleanup": ("cleanup_users", {}),
    "Audit": ("create_keys", {"action": "audit"}),
    "Advise": ("rotate_keys", {"action": "advise"}),
}


def stack_sets(synth: Synth) -> dict[str, dict[str, Any]]:
    return {
        key.removeprefix("Organization")[:-8]: value["Properties"]
        for key, value in synth.of_type("AWS::CloudFormation::StackSet").items()
    }


def spoke(synth: Synth, name: str = "SpokeStackSet") -> Synth:
    return Synth(template=json.loads(stack_sets(synth)[name]["TemplateBody"]), report={}, metadata={})


def definition(synth: Synth, job: str) -> dict[str, Any]:
    machine = synth.properties("AWS::StepFunctions::StateMachine", f"Organization{job}StateMachine")
    parsed: dict[str, Any] = json.loads(render(machine["DefinitionString"]))
    return parsed


def test_single_account_mode_deploys_nothing_of_organization_mode(default_synth: Synth, variant_synth: Synth) -> None:
    # Given the default and the far-from-default single-account syntheses (organization mode off)
    for synth in (default_synth, variant_synth):
        # Then no StackSet, state machine, bus policy or bucket appears
        assert not {r["Type"] for r in synth.resources.values()} & ORGANIZATION_TYPES
        assert "OrganizationRootId" not in synth.template.get("Parameters", {})


def test_organization_mode_only_adds_to_the_single_account_stack(
    default_synth: Synth, organization_synth: Synth
) -> None:
    # Given the default synthesis and the organization-mode one
    added = set(organization_synth.resources) - set(default_synth.resources)
    # Then every resource of the single-account stack is still there, the additions are the hub's
    assert set(default_synth.resources) <= set(organization_synth.resources)
    assert all(key.startswith("Organization") for key in added), sorted(added)
    # And the schedules are the same resources, re-targeted
    for job in JOBS:
        assert organization_synth.logical_id("AWS::Scheduler::Schedule", f"Schedules{job}Schedule")


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_each_spoke_role_holds_the_hub_function_roles_statements(organization_synth: Synth, function: str) -> None:
    # Given the hub's function role and the spoke role of the same function
    hub = [s for s in organization_synth.function_statements(function) if s["Sid"] and s["Sid"] not in HUB_SIDS]
    member = [
        s
        for s in spoke(organization_synth).role_policy_statements(f"{FUNCTIONS[function]}Role")
        if s["Sid"] not in SPOKE_ONLY_SIDS
    ]
    # Then they hold exactly the same statements (the same ${AWS::AccountId} tokens: each in its own account)
    assert sorted(member, key=lambda s: s["Sid"]) == sorted(hub, key=lambda s: s["Sid"])
    # And the explicit denies and the boundary guard are among them
    sids = {s["Sid"] for s in member}
    assert {"DenyChangesToStackRoles", "DenyPathMovesAndBoundaryRemoval", "DenyWritesOnSubPathUsers"} <= sids


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_spoke_roles_trust_the_hub_root_narrowed_to_the_hub_role_and_the_organization(
    organization_synth: Synth, function: str
) -> None:
    # Given a spoke role
    member = spoke(organization_synth)
    role = member.properties("AWS::IAM::Role", f"{FUNCTIONS[function]}Role")
    # Then it has its fixed name under the stack's role path
    assert role["RoleName"] == "IamKeyLifecycleSpoke-" + function.replace("_", "-")
    assert role["Path"] == "/iam-key-lifecycle/"
    # And it trusts the hub account's root only, narrowed by conditions (never a role ARN as principal, which
    # fails with MalformedPolicyDocument while the hub role does not exist)
    (statement,) = render(role["AssumeRolePolicyDocument"]["Statement"])
    assert statement["Principal"] == {"AWS": "arn:${AWS::Partition}:iam::${HubAccountId}:root"}
    assert statement["Action"] == "sts:AssumeRole"
    hub_role = (
        "arn:${AWS::Partition}:iam::${HubAccountId}:role/iam-key-lifecycle/"
        f"IamKeyLifecycle-{function.replace('_', '-')}-${{HubRegion}}"
    )
    assert statement["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": hub_role},
        "StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID},
    }


def test_the_spoke_holds_the_guardrails_and_the_secrets_key_under_fixed_names(organization_synth: Synth) -> None:
    member = spoke(organization_synth)
    boundary = member.properties("AWS::IAM::ManagedPolicy", "TemporaryUserGuardrailsPermissionsBoundary")
    assert boundary["ManagedPolicyName"] == "IamKeyLifecycleTemporaryUserBoundary"
    assert member.properties("AWS::IAM::Group", "TemporaryUserGuardrailsGroup")["GroupName"] == (
        "IamKeyLifecycleTemporaryUsers"
    )
    alias = member.properties("AWS::KMS::Alias", "SecretsKeyAlias")
    assert alias["AliasName"] == "alias/iam-key-lifecycle-secrets"
    assert member.properties("AWS::KMS::Key", "SecretsEncryptionKey")["EnableKeyRotation"] is True
    # Nothing that would need an asset or the bootstrap stack in the member account
    assert "BootstrapVersion" not in member.template.get("Parameters", {})
    types = {r["Type"] for r in member.resources.values()}
    assert types == {"AWS::IAM::ManagedPolicy", "AWS::IAM::Group", "AWS::IAM::Role", "AWS::IAM::Policy"} | {
        "AWS::KMS::Key",
        "AWS::KMS::Alias",
    }


def test_the_spoke_forwards_iam_changes_to_the_hub_bus_from_us_east_1(organization_synth: Synth) -> None:
    sets = stack_sets(organization_synth)
    assert sets["SpokeIamEventsStackSet"]["StackInstancesGroup"][0]["Regions"] == ["us-east-1"]
    forwarding = spoke(organization_synth, "SpokeIamEventsStackSet")
    (rule,) = forwarding.of_type("AWS::Events::Rule").values()
    (target,) = render(rule["Properties"]["Targets"])
    assert target["Arn"] == "arn:${AWS::Partition}:events:${HubRegion}:${HubAccountId}:event-bus/default"
    # The spoke's own roles' calls are left out (the hub made them)
    excluded = rule["Properties"]["EventPattern"]["detail"]["$or"][1]["userIdentity"]["sessionContext"]
    names = render(excluded["sessionIssuer"]["arn"][0]["anything-but"])
    assert names == [
        f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/iam-key-lifecycle/IamKeyLifecycleSpoke-{f}"
        for f in ("create-keys", "rotate-keys", "cleanup-users", "detect-changes")
    ]
    # And the hub's bus accepts PutEvents from principals of the organization only
    (policy,) = organization_synth.of_type("AWS::Events::EventBusPolicy").values()
    statement = render(policy["Properties"]["Statement"])
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": ORGANIZATION_ID}}


def test_stack_sets_are_service_managed_with_automatic_deployment_to_the_targets(organization_synth: Synth) -> None:
    sets = stack_sets(organization_synth)
    assert set(sets) == {"SpokeStackSet", "SpokeIamEventsStackSet"}
    for properties in sets.values():
        assert properties["PermissionModel"] == "SERVICE_MANAGED"
        assert properties["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
        assert properties["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
        (group,) = properties["StackInstancesGroup"]
        # No target OU configured: the organization's root, given at deploy
        assert group["DeploymentTargets"] == {
            "OrganizationalUnitIds": [{"Ref": "OrganizationRootId"}],
            "AccountFilterType": "DIFFERENCE",
            "Accounts": ORGANIZATION["exclude_accounts"],
        }
        assert render(properties["Parameters"]) == [
            {"ParameterKey": "HubAccountId", "ParameterValue": "${AWS::AccountId}"},
            {"ParameterKey": "HubRegion", "ParameterValue": "${AWS::Region}"},
        ]
        # CreateStackSet's TemplateBody limit
        assert len(properties["TemplateBody"].encode()) <= TEMPLATE_BODY_LIMIT
    assert organization_synth.template["Parameters"]["OrganizationRootId"]["AllowedPattern"] == "^r-[0-9a-z]{4,32}$"


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_hub_roles_assume_only_their_own_spoke_role_in_the_organization(
    organization_synth: Synth, function: str
) -> None:
    assuming = [
        s
        for s in organization_synth.function_statements(function)
        if any(a.startswith("sts:AssumeRole") for a in s["Action"])
    ]
    assert assuming == [
        {
            "Sid": "AssumeTheSpokeRoleInMemberAccounts",
            "Effect": "Allow",
            "Action": ["sts:AssumeRole"],
            "Resource": [
                "arn:${AWS::Partition}:iam::*:role/iam-key-lifecycle/IamKeyLifecycleSpoke-" + function.replace("_", "-")
            ],
            "Condition": {"StringEquals": {"aws:ResourceOrgID": ORGANIZATION_ID}},
        }
    ]


@pytest.mark.parametrize("job", sorted(JOBS))
def test_each_job_lists_the_accounts_maps_over_them_and_aggregates(organization_synth: Synth, job: str) -> None:
    function, payload = JOBS[job]
    machine = definition(organization_synth, job)
    states = machine["States"]
    create = organization_synth.arn("AWS::Lambda::Function", "FunctionsCreateKeysFunction")
    # A first step lists the target accounts
    assert machine["StartAt"] == "ListTargetAccounts"
    listing = states["ListTargetAccounts"]
    assert listing["Resource"] == create
    assert listing["Parameters"] == {"action": "list_accounts"}
    assert listing["ResultSelector"] == {"account_ids.$": "$.accounts[*].account_id"}
    # Then a Distributed Map over them, at the configured concurrency and tolerated failure
    each = states[listing["Next"]]
    assert each["Type"] == "Map"
    assert each["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    assert each["MaxConcurrency"] == ORGANIZATION["max_concurrency"]
    assert each["ToleratedFailurePercentage"] == ORGANIZATION["tolerated_failure_percentage"]
    assert each["ItemSelector"] == {**payload, "account_id.$": "$$.Map.Item.Value"}
    bucket = organization_synth.ref("AWS::S3::Bucket", "OrganizationRunResultsBucket")
    assert each["ResultWriter"]["Parameters"] == {"Bucket": bucket, "Prefix": job.lower()}
    # Each item invokes the job's function, retried with backoff and jitter on throttling and Lambda errors
    run = each["ItemProcessor"]["States"][each["ItemProcessor"]["StartAt"]]
    assert run["Resource"] == organization_synth.arn("AWS::Lambda::Function", f"Functions{FUNCTIONS[function]}Function")
    lambda_retry, task_retry = run["Retry"]
    assert {"Lambda.TooManyRequestsException", "Lambda.ServiceException"} <= set(lambda_retry["ErrorEquals"])
    assert task_retry["ErrorEquals"] == ["States.TaskFailed", "States.Timeout"]
    for retry in (lambda_retry, task_retry):
        assert retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] == 2
    # And a last step aggregates the runs from the result writer's manifest
    aggregate = states[each["Next"]]
    assert aggregate["End"] is True and aggregate["Resource"] == create
    assert aggregate["Parameters"] == {
        "action": "aggregate_runs",
        "job": job.lower(),
        "result_writer.$": "$.ResultWriterDetails",
    }


@pytest.mark.parametrize("job", sorted(JOBS))
def test_an_account_failure_is_a_result_and_a_failed_map_run_is_still_reported(
    organization_synth: Synth, job: str
) -> None:
    states = definition(organization_synth, job)["States"]
    create = organization_synth.arn("AWS::Lambda::Function", "FunctionsCreateKeysFunction")
    each = states["EachAccount"]
    # An account's failure after the retries is caught into that account's result (its id, the error and cause)
    processor = each["ItemProcessor"]["States"]
    run = processor[each["ItemProcessor"]["StartAt"]]
    (catch,) = run["Catch"]
    assert catch["ErrorEquals"] == ["States.ALL"] and catch["ResultPath"] == "$.failure"
    caught = processor[catch["Next"]]
    assert caught["Type"] == "Pass" and caught["End"] is True
    assert caught["Parameters"] == {"account_id.$": "$.account_id", "failed.$": "$.failure"}
    # The map run failing is caught into an aggregation of what this execution's run wrote, then a Fail state
    (map_catch,) = each["Catch"]
    assert map_catch["ErrorEquals"] == ["States.ALL"] and map_catch["ResultPath"] == "$.map_failed"
    aggregate = states[map_catch["Next"]]
    assert aggregate["Resource"] == create
    bucket = organization_synth.ref("AWS::S3::Bucket", "OrganizationRunResultsBucket")
    assert aggregate["Parameters"] == {
        "action": "aggregate_runs",
        "job": job.lower(),
        "result_writer": {"bucket": bucket, "prefix": job.lower(), "written_after.$": "$$.Execution.StartTime"},
        "map_failed.$": "$.map_failed",
    }
    failed = states[aggregate["Next"]]
    assert failed == {"Type": "Fail", "Error": "OrganizationRunFailed", "Cause": failed["Cause"]} and failed["Cause"]


def test_state_machines_log_and_trace(organization_synth: Synth) -> None:
    for machine in organization_synth.of_type("AWS::StepFunctions::StateMachine").values():
        properties = machine["Properties"]
        assert properties["TracingConfiguration"] == {"Enabled": True}
        assert properties["LoggingConfiguration"]["Level"] == "ALL"


def test_run_results_bucket_is_private_encrypted_and_expires(organization_synth: Synth) -> None:
    bucket = organization_synth.properties("AWS::S3::Bucket", "OrganizationRunResultsBucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 30
    assert render(bucket["LoggingConfiguration"])["DestinationBucketName"] == organization_synth.ref(
        "AWS::S3::Bucket", "OrganizationRunResultsAccessLogsBucket"
    )
    policy = organization_synth.properties("AWS::S3::BucketPolicy", "OrganizationRunResultsBucketPolicy")
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy["PolicyDocument"]["Statement"]
    )


@pytest.mark.parametrize("job", sorted(JOBS))
def test_schedules_start_the_state_machines(organization_synth: Synth, job: str) -> None:
    # Given a schedule in organization mode
    schedule = organization_synth.properties("AWS::Scheduler::Schedule", f"Schedules{job}Schedule")
    machine = organization_synth.ref("AWS::StepFunctions::StateMachine", f"Organization{job}StateMachine")
    # Then it starts its job's state machine with the job's input
    assert render(schedule["Target"]["Arn"]) == machine
    assert json.loads(schedule["Target"]["Input"]) == JOBS[job][1]
    # And its role may start exactly that state machine, and send to its own dead-letter queue, nothing else
    statements = organization_synth.role_policy_statements(f"Schedules{job}Role")
    queue = organization_synth.arn("AWS::SQS::Queue", f"Schedules{job}DeadLetterQueue")
    assert sorted(statements, key=lambda s: s["Action"]) == [
        {"Sid": None, "Effect": "Allow", "Action": ["sqs:SendMessage"], "Resource": [queue], "Condition": {}},
        {"Sid": None, "Effect": "Allow", "Action": ["states:StartExecution"], "Resource": [machine], "Condition": {}},
    ]


def test_organization_mode_is_cdk_nag_clean_with_reasons(organization_synth: Synth) -> None:
    # The spoke's own synthesis runs cdk-nag too and fails the hub's synth on any finding.
    assert organization_synth.violations == []
    assert all(reason.strip() for _, _, reason in organization_synth.acknowledgements)


def test_the_functions_get_the_organization_settings_and_reads(organization_synth: Synth) -> None:
    # Every function knows the organization and its targets (its settings, read at cold start)
    for function in FUNCTIONS.values():
        properties = organization_synth.properties("AWS::Lambda::Function", f"Functions{function}Function")
        environment = properties["Environment"]["Variables"]
        assert environment["ORGANIZATION_ID"] == ORGANIZATION["organization_id"]
        assert environment["ORGANIZATION_EXCLUDE_ACCOUNTS"] == ",".join(ORGANIZATION["exclude_accounts"])
        assert "ORGANIZATION_TARGET_OUS" in environment
    # Each role may read the organization (the account walk and the account_id check), read only
    for function in FUNCTIONS:
        reads = [s for s in organization_synth.function_statements(function) if s["Sid"] == "ReadTheOrganization"]
        assert len(reads) == 1 and all(
            a.startswith(("organizations:Describe", "organizations:List")) for a in reads[0]["Action"]
        )
    # Only the create function reads the run results it aggregates
    readers = [
        f for f in FUNCTIONS if any(s["Sid"] == "ReadTheRunResults" for s in organization_synth.function_statements(f))
    ]
    assert readers == ["create_keys"]
