"""The detection resources in the templates: the CloudTrail rule, the us-east-1 stack that forwards IAM's events to
another region, the audit schedule, the event bus permission, the detect function's role, and the optional trail;
synthesized once in us-east-1 and once in eu-west-1, with trail and deactivation on."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest

from app import IAM_EVENTS_STACK_NAME, build_app
from key_lifecycle.domain.classify import WATCHED_EVENTS, stack_role_names
from stacks.config import cdk_json_context
from tests.support.stack_template import USERS, Synth, by_sid, render, synthesize

pytestmark = pytest.mark.xdist_group("detection-synth")
BUS = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"


CONTEXT = {**cdk_json_context(), "create_cloudtrail_trail": True, "out_of_band_key_response": "deactivate"}


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk-detection")
    return synthesize(build_app(CONTEXT, outdir=str(outdir), region="us-east-1"), outdir)


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> tuple[Synth, dict[str, Any], dict[str, Any]]:
    """The app for eu-west-1: the main stack, the forwarding stack's template, and the cloud assembly manifest."""
    outdir = tmp_path_factory.mktemp("cdk-detection-eu-west-1")
    main = synthesize(build_app(CONTEXT, outdir=str(outdir), region="eu-west-1"), outdir)
    forwarding = json.loads((Path(outdir) / f"{IAM_EVENTS_STACK_NAME}.template.json").read_text())
    manifest = json.loads((Path(outdir) / "manifest.json").read_text())
    return main, forwarding, manifest


def test_the_rule_matches_the_watched_iam_calls_not_made_by_the_stacks_roles(synth: Synth) -> None:
    rule = render(synth.properties("AWS::Events::Rule", "ChangeDetectionIamChangesRule"))
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.iam"] and pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventSource"] == ["iam.amazonaws.com"]
    assert sorted(pattern["detail"]["eventName"]) == sorted(WATCHED_EVENTS)
    assert pattern["detail"]["$or"] == [
        {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
        # Exactly the stack's function roles (fixed names): a role someone else creates under the path is watched
        {
            "userIdentity": {
                "sessionContext": {
                    "sessionIssuer": {
                        "arn": [
                            {
                                "anything-but": [
                                    f"arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/iam-key-lifecycle/{name}"
                                    for name in stack_role_names("${AWS::Region}")
                                ]
                            }
                        ]
                    }
                }
            }
        },
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == synth.arn("AWS::Lambda::Function", "FunctionsDetectChangesFunction")
    assert target["DeadLetterConfig"]["Arn"] == synth.arn("AWS::SQS::Queue", "ChangeDetectionRuleDeadLetterQueue")
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 2}


def test_the_rule_exists_in_every_region_with_its_permission_and_queue(
    synth: Synth, elsewhere: tuple[Synth, dict[str, Any], dict[str, Any]]
) -> None:
    main_elsewhere, _, _ = elsewhere
    for template in (synth, main_elsewhere):
        # No condition on the region any more: the rule, the function's permission and the queue always exist
        assert "Conditions" not in template.template
        assert not [r for r in template.resources.values() if "Condition" in r]
        rule = render(template.properties("AWS::Events::Rule", "ChangeDetectionIamChangesRule"))
        assert "EventBusName" not in rule  # the default bus of the stack's region
        [permission] = [
            render(r["Properties"])
            for r in template.of_type("AWS::Lambda::Permission").values()
            if render(r["Properties"]).get("SourceArn")
            == template.arn("AWS::Events::Rule", "ChangeDetectionIamChangesRule")
        ]
        assert permission["Principal"] == "events.amazonaws.com"
    # And the template of the main stack does not depend on the region it is synthesized for
    assert synth.template == main_elsewhere.template


@pytest.mark.parametrize(
    ("region", "stacks"),
    [("us-east-1", ["IamKeyLifecycle"]), ("ap-southeast-2", ["IamKeyLifecycle", IAM_EVENTS_STACK_NAME])],
)
def test_the_forwarding_stack_exists_outside_us_east_1_only_for_the_clis_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, region: str, stacks: list[str]
) -> None:
    # Given the region as the CDK CLI passes it to the app (from AWS_REGION or the profile)
    monkeypatch.setenv("CDK_DEFAULT_REGION", region)
    build_app(CONTEXT, outdir=str(tmp_path)).synth()
    assert sorted(p.name.removesuffix(".template.json") for p in tmp_path.glob("*.template.json")) == stacks


def test_elsewhere_a_us_east_1_stack_forwards_the_same_events_to_the_stacks_region(
    synth: Synth, elsewhere: tuple[Synth, dict[str, Any], dict[str, Any]]
) -> None:
    _, forwarding, manifest = elsewhere
    resources = forwarding["Resources"]
    by_type: dict[str, list[dict[str, Any]]] = {}
    for resource in resources.values():
        by_type.setdefault(resource["Type"], []).append(render(resource))
    # Given the forwarding stack: one rule, one role and its policy, one dead-letter queue and its policy
    assert sorted((t, len(r)) for t, r in by_type.items()) == [
        ("AWS::Events::Rule", 1),
        ("AWS::IAM::Policy", 1),
        ("AWS::IAM::Role", 1),
        ("AWS::SQS::Queue", 1),
        ("AWS::SQS::QueuePolicy", 1),
    ]
    [rule] = by_type["AWS::Events::Rule"]
    # Then its rule matches exactly what the main stack's rule matches (the same iam_change_pattern), for the
    # roles of the stack deployed to eu-west-1
    main_rule = render(synth.properties("AWS::Events::Rule", "ChangeDetectionIamChangesRule"))
    in_eu_west_1 = json.loads(json.dumps(main_rule["EventPattern"]).replace("${AWS::Region}", "eu-west-1"))
    assert rule["Properties"]["EventPattern"] == in_eu_west_1
    # And its one target is the default event bus of eu-west-1 in the same account, put with the forwarding role
    [target] = rule["Properties"]["Targets"]
    bus = "arn:${AWS::Partition}:events:eu-west-1:${AWS::AccountId}:event-bus/default"
    assert target["Arn"] == bus
    [role_id] = [key for key, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    [queue_id] = [key for key, r in resources.items() if r["Type"] == "AWS::SQS::Queue"]
    assert target["RoleArn"] == "${" + role_id + ".Arn}"
    assert target["DeadLetterConfig"] == {"Arn": "${" + queue_id + ".Arn}"}
    # And the role may be assumed by EventBridge only, and may only put events on that bus
    [role] = by_type["AWS::IAM::Role"]
    assert role["Properties"]["Path"] == "/iam-key-lifecycle/"
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}}
    ]
    [policy] = by_type["AWS::IAM::Policy"]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "events:PutEvents", "Effect": "Allow", "Resource": bus}
    ]
    # And no bus policy is needed: the default bus accepts its own account's events from any region
    assert "AWS::Events::EventBusPolicy" not in by_type
    # And the CLI deploys it to us-east-1, after the main stack (`cdk deploy --all`)
    artifact = manifest["artifacts"][IAM_EVENTS_STACK_NAME]
    assert artifact["environment"] == "aws://unknown-account/us-east-1"
    assert "IamKeyLifecycle" in artifact["dependencies"]
    assert manifest["artifacts"]["IamKeyLifecycle"]["environment"] == "aws://unknown-account/unknown-region"


def test_both_stacks_are_cdk_nag_clean(elsewhere: tuple[Synth, dict[str, Any], dict[str, Any]]) -> None:
    main, _, _ = elsewhere
    # The validation report covers the whole app, the forwarding stack included
    assert main.violations == []
    acknowledged = {(v["ruleName"], c["constructPath"]) for v in main.suppressed for c in v["violatingConstructs"]}
    forwarding = {(rule, path) for rule, path in acknowledged if path.startswith(IAM_EVENTS_STACK_NAME)}
    # Its one acknowledged finding: the dead-letter queue has no dead-letter queue of its own
    assert forwarding == {
        ("AwsSolutions-SQS3", f"{IAM_EVENTS_STACK_NAME}/IamEventsForwarding/ForwardDeadLetterQueue/Resource")
    }


def test_the_audit_runs_weekly_on_the_create_function(synth: Synth) -> None:
    schedule = render(synth.properties("AWS::Scheduler::Schedule", "SchedulesAuditSchedule"))
    assert schedule["ScheduleExpression"] == "cron(0 7 ? * MON *)"
    assert schedule["State"] == "ENABLED"
    assert schedule["Target"]["Arn"] == synth.arn("AWS::Lambda::Function", "FunctionsCreateKeysFunction")
    assert schedule["Target"]["Input"] == '{"action":"audit"}'


@pytest.mark.parametrize("function", ["create_keys", "rotate_keys", "cleanup_users", "detect_changes"])
def test_every_function_may_put_events_on_the_default_bus_only(synth: Synth, function: str) -> None:
    statements = by_sid(synth.function_statements(function))
    assert statements["PublishLifecycleEvents"]["Action"] == ["events:PutEvents"]
    assert statements["PublishLifecycleEvents"]["Resource"] == [BUS]
    env = render(
        synth.properties(
            "AWS::Lambda::Function", f"Functions{''.join(p.capitalize() for p in function.split('_'))}Function"
        )["Environment"]["Variables"]
    )
    assert env["EVENT_BUS_NAME"] == "default" and env["OUT_OF_BAND_KEY_RESPONSE"] == "deactivate"
    assert env["FOREWARN_DAYS"] == "7,1" and env["STACK_ROLE_PATH"] == "/iam-key-lifecycle/"


def test_with_deactivation_the_detect_function_may_only_deactivate_keys_of_managed_users(synth: Synth) -> None:
    statements = by_sid(synth.function_statements("detect_changes"))
    deactivate = statements["DeactivateOutOfBandKeysOfManagedUsers"]
    assert deactivate["Action"] == ["iam:UpdateAccessKey"] and deactivate["Resource"] == [USERS]
    assert deactivate["Condition"] == {"StringEquals": {"iam:ResourceTag/managed-by": "iam-key-lifecycle"}}
    writes = {a for s in statements.values() if s["Effect"] == "Allow" for a in s["Action"] if a.startswith("iam:")}
    assert writes == {
        "iam:GetUser",
        "iam:ListUserTags",
        "iam:ListAccessKeys",
        "iam:GetAccessKeyLastUsed",
        "iam:GetAccountAuthorizationDetails",
        "iam:GenerateCredentialReport",
        "iam:GetCredentialReport",
        "iam:UpdateAccessKey",
    }


def test_the_trail_logs_to_an_encrypted_tls_only_access_logged_bucket_and_nag_is_clean(synth: Synth) -> None:
    trail = render(synth.properties("AWS::CloudTrail::Trail", "ChangeDetectionTrail"))
    assert trail["IsMultiRegionTrail"] is True and trail["IncludeGlobalServiceEvents"] is True
    assert trail["EnableLogFileValidation"] is True
    bucket_id = synth.logical_id("AWS::S3::Bucket", "ChangeDetectionTrailBucket")
    assert trail["S3BucketName"] == "${" + bucket_id + "}"
    bucket = render(synth.resources[bucket_id]["Properties"])
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == synth.ref(
        "AWS::S3::Bucket", "ChangeDetectionTrailAccessLogsBucket"
    )
    policies = [render(p["Properties"]) for p in synth.of_type("AWS::S3::BucketPolicy").values()]
    tls_only = [
        p
        for p in policies
        if p["Bucket"] == "${" + bucket_id + "}"
        for st in p["PolicyDocument"]["Statement"]
        if st["Effect"] == "Deny" and st.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
    ]
    assert tls_only
    assert synth.violations == []


def test_the_access_logs_bucket_admits_s3_logging_by_policy_with_acls_disabled(synth: Synth) -> None:
    # S3 User Guide (Permissions for log delivery): with Object Ownership "bucket owner enforced" ACLs are disabled,
    # and the destination bucket's policy must grant s3:PutObject to logging.s3.amazonaws.com; aws:SourceArn and
    # aws:SourceAccount limit it to the source bucket.
    logs_id = synth.logical_id("AWS::S3::Bucket", "ChangeDetectionTrailAccessLogsBucket")
    logs_bucket = render(synth.resources[logs_id]["Properties"])
    assert "AccessControl" not in logs_bucket
    assert logs_bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (policy,) = [
        render(p["Properties"]["PolicyDocument"])
        for p in synth.of_type("AWS::S3::BucketPolicy").values()
        if render(p["Properties"]["Bucket"]) == "${" + logs_id + "}"
    ]
    (delivery,) = [st for st in policy["Statement"] if st["Effect"] == "Allow"]
    assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert delivery["Action"] == "s3:PutObject"
    assert delivery["Resource"] == "${" + logs_id + ".Arn}/trail-bucket/*"
    assert delivery["Condition"] == {
        "ArnLike": {"aws:SourceArn": synth.arn("AWS::S3::Bucket", "ChangeDetectionTrailBucket")},
        "StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"},
    }
