"""Alarms to the topic, the secret-key masking on every log group, and the dashboard."""

from __future__ import annotations

import json

import pytest
from stack_template import FUNCTIONS, Synth, render

from stacks.monitoring import LIFECYCLE_METRICS

pytestmark = pytest.mark.xdist_group("synth")

QUEUES = [
    "FunctionsOnFailureQueue",
    "SchedulesReconcileDeadLetterQueue",
    "SchedulesRotateDeadLetterQueue",
    "SchedulesCleanupDeadLetterQueue",
    "SchedulesAuditDeadLetterQueue",
    "ChangeDetectionRuleDeadLetterQueue",
]


def alarms(s: Synth) -> list[dict]:
    return [render(r["Properties"]) for r in s.of_type("AWS::CloudWatch::Alarm").values()]


@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_errors_and_throttles_alarm_to_the_topic(default_synth: Synth, name: str, metric: str) -> None:
    function = default_synth.ref("AWS::Lambda::Function", f"Functions{FUNCTIONS[name]}Function")
    matching = [
        a
        for a in alarms(default_synth)
        if a["Namespace"] == "AWS/Lambda"
        and a["MetricName"] == metric
        and a["Dimensions"] == [{"Name": "FunctionName", "Value": function}]
    ]
    assert len(matching) == 1
    alarm = matching[0]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1
    assert alarm["Statistic"] == "Sum"
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [default_synth.ref("AWS::SNS::Topic", "NotificationsTopic")]


@pytest.mark.parametrize("queue", QUEUES)
def test_any_message_in_a_failure_queue_alarms_to_the_topic(default_synth: Synth, queue: str) -> None:
    name = default_synth.arn("AWS::SQS::Queue", queue).removesuffix(".Arn}") + ".QueueName}"
    matching = [
        a
        for a in alarms(default_synth)
        if a["Namespace"] == "AWS/SQS" and a["Dimensions"] == [{"Name": "QueueName", "Value": name}]
    ]
    assert len(matching) == 1
    alarm = matching[0]
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["AlarmActions"] == [default_synth.ref("AWS::SNS::Topic", "NotificationsTopic")]


def test_there_are_no_other_alarms(default_synth: Synth) -> None:
    assert len(alarms(default_synth)) == 2 * len(FUNCTIONS) + len(QUEUES)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_log_groups_mask_aws_secret_keys(default_synth: Synth, name: str) -> None:
    # Given a function's log group
    log_group = default_synth.properties("AWS::Logs::LogGroup", f"Functions{FUNCTIONS[name]}Logs")
    policy = render(log_group["DataProtectionPolicy"])
    identifier = "arn:${AWS::Partition}:dataprotection::aws:data-identifier/AwsSecretKey"
    # Then its data protection policy audits and masks the AwsSecretKey managed data identifier
    operations = {next(iter(st["Operation"])): st["DataIdentifier"] for st in policy["Statement"]}
    assert operations == {"Audit": [identifier], "Deidentify": [identifier]}
    assert policy["Statement"][1]["Operation"]["Deidentify"] == {"MaskConfig": {}}


def test_dashboard_shows_functions_and_lifecycle_metrics(default_synth: Synth) -> None:
    body = render(default_synth.properties("AWS::CloudWatch::Dashboard", "MonitoringDashboard")["DashboardBody"])
    for title in ("Invocations", "Errors", "Duration (p99)"):
        assert f'"title":"{title}"' in body
    for name in FUNCTIONS.values():
        assert default_synth.ref("AWS::Lambda::Function", f"Functions{name}Function") in body
    expressions = [
        w["properties"]["metrics"][0][0]["expression"]
        for w in json.loads(body)["widgets"][3 : 3 + len(LIFECYCLE_METRICS)]
    ]
    assert expressions == [
        f"SUM(SEARCH('\"IamKeyLifecycle\" MetricName=\"{metric}\"', 'Sum', 300))" for metric in LIFECYCLE_METRICS
    ]
