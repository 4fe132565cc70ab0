"""An alarm's change of state reaches its topic only if the topic's access policy lets CloudWatch publish, as in
AWS: a topic policy replaces SNS's default one, and CloudWatch publishes as the service cloudwatch.amazonaws.com."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sns.models import sns_backends

from local_account.emulator import aws_fidelity
from local_account.emulator.alarms import run_alarm_actions
from tests.local_account.emulator_helpers import ACCOUNT, REGION

TLS_ONLY = {
    "Effect": "Deny",
    "Principal": {"AWS": "*"},
    "Action": "sns:Publish",
    "Resource": {"Ref": "Topic"},
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}
CLOUDWATCH_PUBLISHES = {
    "Effect": "Allow",
    "Principal": {"Service": "cloudwatch.amazonaws.com"},
    "Action": "sns:Publish",
    "Resource": {"Ref": "Topic"},
    "Condition": {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
    },
}


def template(*statements: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Resources": {
                "Topic": {"Type": "AWS::SNS::Topic"},
                "TopicPolicy": {
                    "Type": "AWS::SNS::TopicPolicy",
                    "Properties": {
                        "Topics": [{"Ref": "Topic"}],
                        "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
                    },
                },
                "Errors": {
                    "Type": "AWS::CloudWatch::Alarm",
                    "Properties": {
                        "Namespace": "AWS/Lambda",
                        "MetricName": "Errors",
                        "Dimensions": [{"Name": "FunctionName", "Value": "rotate-keys"}],
                        "Statistic": "Sum",
                        "Period": 300,
                        "EvaluationPeriods": 1,
                        "Threshold": 1,
                        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                        "AlarmActions": [{"Ref": "Topic"}],
                    },
                },
            }
        }
    )


@pytest.fixture
def deploy() -> Iterator[Any]:
    with mock_aws(), aws_fidelity():

        def create(name: str, *statements: dict[str, Any]) -> dict[str, str]:
            cloudformation = boto3.client("cloudformation", region_name=REGION)
            cloudformation.create_stack(StackName=name, TemplateBody=template(*statements))
            resources = cloudformation.describe_stack_resources(StackName=name)["StackResources"]
            return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}

        yield create


def alarm_fires(stack: dict[str, str]) -> tuple[list[Any], list[Any]]:
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName=stack["Errors"], StateValue="ALARM", StateReason="errors"
    )
    ran = run_alarm_actions(ACCOUNT, REGION, stack["Errors"], "OK")
    return ran, sns_backends[ACCOUNT][REGION].topics[stack["Topic"]].sent_notifications


def test_the_topic_policy_and_the_alarm_are_created_by_cloudformation(deploy) -> None:
    stack = deploy("with-grant", TLS_ONLY, CLOUDWATCH_PUBLISHES)
    policy = json.loads(
        boto3.client("sns", region_name=REGION).get_topic_attributes(TopicArn=stack["Topic"])["Attributes"]["Policy"]
    )
    assert [s["Effect"] for s in policy["Statement"]] == ["Deny", "Allow"]
    alarm = boto3.client("cloudwatch", region_name=REGION).describe_alarms(AlarmNames=[stack["Errors"]])
    assert alarm["MetricAlarms"][0]["AlarmActions"] == [stack["Topic"]]


def test_an_alarm_publishes_when_the_topic_policy_allows_cloudwatch(deploy) -> None:
    stack = deploy("with-grant", TLS_ONLY, CLOUDWATCH_PUBLISHES)
    ran, sent = alarm_fires(stack)
    assert [a.delivered for a in ran] == [True]
    message = json.loads(sent[0][1])
    assert (message["AlarmName"], message["NewStateValue"], message["OldStateValue"]) == (
        stack["Errors"],
        "ALARM",
        "OK",
    )


def test_an_alarm_is_dropped_when_the_topic_policy_holds_only_the_tls_deny(deploy) -> None:
    stack = deploy("tls-only", TLS_ONLY)
    ran, sent = alarm_fires(stack)
    assert [a.delivered for a in ran] == [False]
    assert sent == []


def test_nothing_is_published_without_a_change_of_state(deploy) -> None:
    stack = deploy("with-grant", TLS_ONLY, CLOUDWATCH_PUBLISHES)
    boto3.client("cloudwatch", region_name=REGION).set_alarm_state(
        AlarmName=stack["Errors"], StateValue="OK", StateReason="still fine"
    )
    assert run_alarm_actions(ACCOUNT, REGION, stack["Errors"], "OK") == []
