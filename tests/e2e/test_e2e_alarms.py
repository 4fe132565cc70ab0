"""An alarm of the deployed stack changes state and its message reaches the notification topic: CloudWatch
publishes as cloudwatch.amazonaws.com, judged against the deployed topic policy as SNS judges it."""

from __future__ import annotations

import json

import pytest
from moto.sns.models import sns_backends

from local_account import LocalAccount
from local_account.emulator.authorization import service_may

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _deployed(account: LocalAccount, resource_type: str) -> dict[str, str]:
    return {
        logical: resource["physical_id"]
        for logical, resource in account.stack_resources.items()
        if resource["type"] == resource_type
    }


def test_every_alarm_and_the_topic_policy_are_deployed(account: LocalAccount) -> None:
    template_alarms = [r for r in account.template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(_deployed(account, "AWS::CloudWatch::Alarm")) == len(template_alarms) > 0
    assert "AWS::SNS::TopicPolicy" not in account.skipped_resources.values()


def test_an_alarms_message_reaches_the_topic(account: LocalAccount) -> None:
    # Given a deployed alarm whose action is the notification topic
    (topic,) = _deployed(account, "AWS::SNS::Topic").values()
    cloudwatch = account.admin_client("cloudwatch")
    alarm = next(
        a
        for a in cloudwatch.describe_alarms()["MetricAlarms"]
        if topic in a["AlarmActions"] and a["StateValue"] != "ALARM"
    )
    sent_before = len(sns_backends[account.account_id][account.region].topics[topic].sent_notifications)
    # When it goes into ALARM
    ran = account.set_alarm_state(alarm["AlarmName"], "ALARM", "errors in the last period")
    # Then CloudWatch's publish is allowed by the topic policy and the message is on the topic
    assert [(a.topic_arn, a.delivered) for a in ran] == [(topic, True)]
    sent = sns_backends[account.account_id][account.region].topics[topic].sent_notifications[sent_before:]
    assert [json.loads(message)["AlarmName"] for _, message, *_ in sent] == [alarm["AlarmName"]]
    account.set_alarm_state(alarm["AlarmName"], "OK", "back to normal")


def test_without_the_cloudwatch_statement_the_deployed_policy_refuses_the_alarm(account: LocalAccount) -> None:
    # The deployed topic policy, as it was before CloudWatch was allowed: only the TLS-only deny
    (topic,) = _deployed(account, "AWS::SNS::Topic").values()
    policy = json.loads(account.admin_client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    without = {**policy, "Statement": [s for s in policy["Statement"] if s["Effect"] == "Deny"]}
    alarm_arn = f"arn:aws:cloudwatch:{account.region}:{account.account_id}:alarm:any"
    publish = ("cloudwatch.amazonaws.com", "sns:Publish", topic)
    assert service_may(*publish, policy, account=account.account_id, source_arn=alarm_arn)
    assert not service_may(*publish, without, account=account.account_id, source_arn=alarm_arn)
