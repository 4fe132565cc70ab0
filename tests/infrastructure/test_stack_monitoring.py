"""Alarms to the topic, the secret-key masking on every log group, and the dashboard."""

from __future__ import annotations

import json
import re

import pytest

from stacks.functions import SECRET_KEY_FIELD_PATTERN
from stacks.monitoring import LIFECYCLE_METRICS
from tests.support.stack_template import FUNCTIONS, Synth, render

pytestmark = pytest.mark.xdist_group("synth")

QUEUES = [
    "FunctionsOnFailureQueue",
    "SchedulesReconcileDeadLetterQueue",
    "SchedulesRotateDeadLetterQueue",
    "SchedulesCleanupDeadLetterQueue",
    "SchedulesAuditDeadLetterQueue",
    "SchedulesAdviseDeadLetterQueue",
    "SchedulesDigestDeadLetterQueue",
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
    identifiers = ["arn:${AWS::Partition}:dataprotection::aws:data-identifier/AwsSecretKey", "SecretAccessKeyField"]
    # Then its data protection policy audits and masks the AwsSecretKey managed data identifier and the custom one
    # for the field as SDKs name it
    operations = {next(iter(st["Operation"])): st["DataIdentifier"] for st in policy["Statement"]}
    assert operations == {"Audit": identifiers, "Deidentify": identifiers}
    assert policy["Statement"][1]["Operation"]["Deidentify"] == {"MaskConfig": {}}
    assert policy["Configuration"]["CustomDataIdentifier"] == [
        {"Name": "SecretAccessKeyField", "Regex": SECRET_KEY_FIELD_PATTERN}
    ]
    # And the log group is encrypted with the stack's logs key
    assert render(log_group["KmsKeyId"]) == default_synth.arn("AWS::KMS::Key", "FunctionsLogsKey")


SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # AWS's documented example secret access key


@pytest.mark.parametrize(
    "line",
    [
        f'{{"SecretAccessKey": "{SECRET}"}}',
        f"'SecretAccessKey': '{SECRET}'",
        f'{{"secret_access_key": "{SECRET}"}}',
        f"AWS_SECRET_ACCESS_KEY={SECRET}",
        f"secret-access-key: {SECRET}",
    ],
    ids=["boto-json", "boto-repr", "key-record", "environment", "yaml"],
)
def test_the_custom_identifier_masks_the_secret_key_field_as_sdks_and_records_name_it(line: str) -> None:
    # CloudWatch Logs custom data identifiers are regular expressions; the managed AwsSecretKey one needs a keyword
    # within 30 characters (aws_secret_access_key, credentials, secret access key, secret key, set-awscredential)
    match = re.search(SECRET_KEY_FIELD_PATTERN, line)
    assert match is not None and SECRET in match.group(0)


@pytest.mark.parametrize(
    "line",
    [f"AccessKeyId: AKIAIOSFODNN7EXAMPLE, session {SECRET}", '{"SecretAccessKey": "short"}'],
    ids=["no-field-name", "not-a-key"],
)
def test_the_custom_identifier_leaves_other_lines_alone(line: str) -> None:
    assert re.search(SECRET_KEY_FIELD_PATTERN, line) is None


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
