"""The detection resources in the template: the CloudTrail rule (us-east-1 only), the audit schedule, the event bus
permission, the detect function's role, and the optional trail; synthesized once with trail and deactivation on."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import pytest
from stack_template import USERS, Synth, by_sid, render, synthesize

from app import build_app
from lifecycle.classify import WATCHED_EVENTS
from stacks.config import cdk_json_context

pytestmark = pytest.mark.xdist_group("detection-synth")
BUS = "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    outdir = tmp_path_factory.mktemp("cdk-detection")
    context = {**cdk_json_context(), "create_cloudtrail_trail": True, "out_of_band_key_response": "deactivate"}
    return synthesize(build_app(context, outdir=str(outdir)), outdir)


def test_the_rule_matches_the_watched_iam_calls_not_made_by_the_stacks_roles(synth: Synth) -> None:
    rule = render(synth.properties("AWS::Events::Rule", "ChangeDetectionIamChangesRule"))
    pattern = rule["EventPattern"]
    assert pattern["source"] == ["aws.iam"] and pattern["detail-type"] == ["AWS API Call via CloudTrail"]
    assert pattern["detail"]["eventSource"] == ["iam.amazonaws.com"]
    assert sorted(pattern["detail"]["eventName"]) == sorted(WATCHED_EVENTS)
    assert pattern["detail"]["$or"] == [
        {"userIdentity": {"type": [{"anything-but": "AssumedRole"}]}},
        {
            "userIdentity": {
                "sessionContext": {
                    "sessionIssuer": {
                        "arn": [
                            {
                                "anything-but": {
                                    "prefix": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/iam-key-lifecycle/"
                                }
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


def test_the_rule_and_what_names_it_exist_only_in_us_east_1(synth: Synth) -> None:
    (condition_id,) = [c for c in synth.template["Conditions"] if c.startswith("ChangeDetectionInIamEventsRegion")]
    assert synth.template["Conditions"][condition_id] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}
    conditioned = {r["Type"] for r in synth.resources.values() if r.get("Condition") == condition_id}
    assert conditioned == {"AWS::Events::Rule", "AWS::Lambda::Permission", "AWS::SQS::QueuePolicy"}
    permission = next(
        render(r["Properties"]) for r in synth.of_type("AWS::Lambda::Permission").values() if r.get("Condition")
    )
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == synth.arn("AWS::Events::Rule", "ChangeDetectionIamChangesRule")


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
