"""Alarms to the notification topic, and a dashboard of the functions and the lifecycle metrics."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from key_lifecycle.models.constants import METRICS_NAMESPACE, Metric, PostureMetric

# The Powertools metrics the functions emit (EMF). The searches name the namespace as a search term rather
# than a metric schema, so they match whatever dimensions (service, function) the handlers add.
LIFECYCLE_METRICS = tuple(metric.value for metric in Metric)
PERIOD = Duration.minutes(5)
# The posture audit's counts, one data point per audit.
POSTURE_METRICS = tuple(metric.value for metric in PostureMetric)


class Monitoring(Construct):
    """Errors and throttles per function, and any message in a failure queue, alarm to the topic."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        functions: Mapping[str, lambda_.Function],
        queues: Mapping[str, sqs.IQueue],
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        notify = actions.SnsAction(topic)
        self.alarms: list[cloudwatch.Alarm] = []
        for name, function in functions.items():
            for kind, metric in (
                ("Errors", function.metric_errors(period=PERIOD, statistic="Sum")),
                ("Throttles", function.metric_throttles(period=PERIOD, statistic="Sum")),
            ):
                self._alarm(
                    f"{_pascal(name)}{kind}",
                    metric,
                    threshold=1,
                    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    description=f"The {name} function reported {kind.lower()} in the last 5 minutes",
                    action=notify,
                )
        for name, queue in queues.items():
            self._alarm(
                f"{name}Messages",
                queue.metric_approximate_number_of_messages_visible(period=PERIOD, statistic="Maximum"),
                threshold=0,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                description=f"A failed invocation is waiting in {name}; read it, fix the cause, then purge it",
                action=notify,
            )

        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", default_interval=Duration.days(7))
        self.dashboard.add_widgets(
            *[
                cloudwatch.GraphWidget(title=title, left=[metric(function) for function in functions.values()], width=8)
                for title, metric in (
                    ("Invocations", lambda f: f.metric_invocations(period=PERIOD, statistic="Sum")),
                    ("Errors", lambda f: f.metric_errors(period=PERIOD, statistic="Sum")),
                    ("Duration (p99)", lambda f: f.metric_duration(period=PERIOD, statistic="p99")),
                )
            ]
        )
        self.dashboard.add_widgets(*[_search_graph(name, name, _sum_of_search(name)) for name in LIFECYCLE_METRICS])
        # Per function: every lifecycle metric it emits (actions by kind, warnings, failures) on one graph.
        self.dashboard.add_widgets(
            *[
                _search_graph(f"{name}: actions, warnings, failures", name, _search_of_function(name))
                for name in functions
            ]
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Account posture (weekly audit)",
                width=24,
                left=[
                    cloudwatch.MathExpression(
                        expression=_max_of_search(name),
                        label=name.removeprefix("Posture"),
                        period=Duration.days(1),
                    )
                    for name in POSTURE_METRICS
                ],
            )
        )

    def _alarm(
        self,
        construct_id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        description: str,
        action: cloudwatch.IAlarmAction,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=comparison,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            alarm_description=description,
        )
        alarm.add_alarm_action(action)
        self.alarms.append(alarm)


def _search_graph(title: str, label: str, expression: str) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(
        title=title,
        width=6,
        left=[cloudwatch.MathExpression(expression=expression, label=label, period=PERIOD)],
    )


def _sum_of_search(metric: str) -> str:
    query = f'"{METRICS_NAMESPACE}" MetricName="{metric}"'
    return f"SUM(SEARCH('{query}', 'Sum', {int(PERIOD.to_seconds())}))"


def _search_of_function(function: str) -> str:
    query = f'"{METRICS_NAMESPACE}" function="{function}"'
    return f"SEARCH('{query}', 'Sum', {int(PERIOD.to_seconds())})"


def _max_of_search(metric: str) -> str:
    query = f'"{METRICS_NAMESPACE}" MetricName="{metric}"'
    return f"MAX(SEARCH('{query}', 'Maximum', 86400))"


def _pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))
