"""CloudWatch alarms and the topic policy they publish through: the AWS::CloudWatch::Alarm and
AWS::SNS::TopicPolicy resources moto's CloudFormation skips, and an alarm's actions published as the
CloudWatch service, judged against the topic's access policy as AWS judges them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from moto.cloudwatch.models import Alarm, Dimension, Metric, MetricDataQuery, MetricStat, cloudwatch_backends
from moto.core.common_models import CloudFormationModel
from moto.sns.models import sns_backends
from moto.utilities.utils import get_partition

from local_account.emulator.authorization import service_may

CLOUDWATCH = "cloudwatch.amazonaws.com"
# The action list CloudWatch runs when an alarm enters each state.
_ACTIONS_OF_STATE = {"ALARM": "alarm_actions", "OK": "ok_actions", "INSUFFICIENT_DATA": "insufficient_data_actions"}


# --- AWS::SNS::TopicPolicy -----------------------------------------------------------------------------------


class CloudFormationTopicPolicy(CloudFormationModel):
    """A topic access policy made by CloudFormation: it replaces each topic's policy (SNS's default included)."""

    def __init__(self, name: str, topics: list[str]):
        self.name = name
        self.topics = topics

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SNS::TopicPolicy"

    @property
    def physical_resource_id(self) -> str:
        return self.name

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationTopicPolicy:
        properties = cloudformation_json.get("Properties", {})
        topics = list(properties.get("Topics", []))
        document = properties["PolicyDocument"]
        for arn in topics:
            topic = sns_backends[account_id][arn.split(":")[3]].get_topic(arn)
            topic.policy = document if isinstance(document, str) else json.dumps(document)
        return cls(resource_name, topics)

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CloudFormationTopicPolicy,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CloudFormationTopicPolicy:
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        return None  # the topic keeps its last policy until it is deleted itself


# --- AWS::CloudWatch::Alarm ------------------------------------------------------------------------------------


def _queries(metrics: list[dict[str, Any]]) -> list[MetricDataQuery] | None:
    if not metrics:
        return None
    queries = []
    for metric in metrics:
        stat = metric.get("MetricStat")
        metric_stat = None
        if stat:
            dimensions = [Dimension(d["Name"], d["Value"]) for d in stat["Metric"].get("Dimensions", [])]
            metric_stat = MetricStat(
                metric=Metric(stat["Metric"]["MetricName"], stat["Metric"].get("Namespace"), dimensions),
                period=stat.get("Period"),
                stat=stat.get("Stat"),
                unit=stat.get("Unit"),
            )
        queries.append(
            MetricDataQuery(
                query_id=metric["Id"],
                # Absent fields stay None, as moto's own PutMetricAlarm leaves them.
                label=cast(str, metric.get("Label")),
                period=cast(str, metric.get("Period")),
                return_data=cast(str, metric.get("ReturnData")),
                expression=metric.get("Expression"),
                metric_stat=metric_stat,
            )
        )
    return queries


class CloudFormationAlarm(CloudFormationModel):
    """A metric alarm made by CloudFormation, with its actions."""

    def __init__(self, alarm: Alarm):
        self.alarm = alarm

    @staticmethod
    def cloudformation_name_type() -> str:
        return "AlarmName"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::CloudWatch::Alarm"

    @property
    def physical_resource_id(self) -> str:
        return str(self.alarm.name)

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return attr == "Arn"

    def get_cfn_attribute(self, attribute_name: str) -> str:
        return str(self.alarm.alarm_arn)

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CloudFormationAlarm:
        p = cloudformation_json.get("Properties", {})
        alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
            name=p.get("AlarmName") or resource_name,
            namespace=p.get("Namespace"),
            metric_name=p.get("MetricName"),
            metric_data_queries=_queries(p.get("Metrics", [])),
            comparison_operator=p["ComparisonOperator"],
            evaluation_periods=int(p["EvaluationPeriods"]),
            datapoints_to_alarm=p.get("DatapointsToAlarm"),
            period=p.get("Period"),
            threshold=float(p.get("Threshold", 0)),
            statistic=p.get("Statistic"),
            description=p.get("AlarmDescription"),
            dimensions=list(p.get("Dimensions", [])),
            alarm_actions=list(p.get("AlarmActions", [])),
            ok_actions=list(p.get("OKActions", [])),
            insufficient_data_actions=list(p.get("InsufficientDataActions", [])),
            actions_enabled=p.get("ActionsEnabled", True) in (True, "true"),
            treat_missing_data=p.get("TreatMissingData"),
        )
        return cls(alarm)

    @classmethod
    def delete_from_cloudformation_json(
        cls, resource_name: str, cloudformation_json: dict[str, Any], account_id: str, region_name: str
    ) -> None:
        cloudwatch_backends[account_id][region_name].delete_alarms([resource_name])


# --- an alarm's actions ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmAction:
    """One action CloudWatch ran for an alarm's change of state: the topic, and whether SNS let it publish."""

    topic_arn: str
    delivered: bool


def run_alarm_actions(account_id: str, region: str, alarm_name: str, previous_state: str) -> list[AlarmAction]:
    """What CloudWatch does after an alarm's state changed: publish the alarm's message to each SNS topic of the
    new state's actions, as the service principal cloudwatch.amazonaws.com for this alarm (aws:SourceAccount,
    aws:SourceArn). SNS refuses a publish its topic policy does not allow; CloudWatch then only records the
    failure in the alarm's history, so no message arrives."""
    alarm = cloudwatch_backends[account_id][region].alarms[alarm_name]
    if alarm.state_value == previous_state or not alarm.actions_enabled:
        return []
    ran = []
    for arn in getattr(alarm, _ACTIONS_OF_STATE[alarm.state_value]):
        if not arn.startswith(f"arn:{get_partition(region)}:sns:"):
            continue
        topic = sns_backends[account_id][arn.split(":")[3]].topics.get(arn)
        allowed = topic is not None and service_may(
            CLOUDWATCH, "sns:Publish", arn, topic._policy_json, account=account_id, source_arn=alarm.alarm_arn
        )
        if allowed and topic is not None:
            topic.publish(json.dumps(_message(alarm, previous_state, account_id, region)), subject=_subject(alarm))
        ran.append(AlarmAction(arn, allowed))
    return ran


def _subject(alarm: Alarm) -> str:
    return f'{alarm.state_value}: "{alarm.name}" in {alarm.region_name}'[:100]


def _message(alarm: Alarm, previous_state: str, account_id: str, region: str) -> dict[str, Any]:
    # The fields of the JSON message CloudWatch publishes for a metric alarm (CloudWatch User Guide,
    # "Using Amazon CloudWatch alarms": alarm notifications), as far as the local account knows them.
    return {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": account_id,
        "AlarmArn": alarm.alarm_arn,
        "NewStateValue": alarm.state_value,
        "NewStateReason": alarm.state_reason,
        "StateChangeTime": datetime.now(UTC).isoformat(),
        "Region": region,
        "OldStateValue": previous_state,
    }
