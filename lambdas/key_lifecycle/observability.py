"""The one Powertools Logger, Tracer and Metrics of the functions, and the log hygiene every function relies on."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from key_lifecycle.models.constants import METRICS_NAMESPACE, SERVICE_NAME, Metric
from key_lifecycle.models.report import ActionKind, ActionStatus, Report

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)


logger = Logger(service=SERVICE)
# X-Ray traces the functions' AWS calls, all made through botocore; without `patch_modules` Powertools would patch
# every library the X-Ray SDK knows. Handlers are decorated with `capture_response=False`: a report is the only thing
# a handler returns, and tracing it adds nothing but risk.
tracer = Tracer(service=SERVICE, patch_modules=("botocore",))
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# botocore logs request and response bodies at DEBUG, and a PutSecretValue body holds a secret access key. Set at
# cold start, before any client exists: these loggers stay at WARNING whatever level the functions are configured
# with (POWERTOOLS_LOG_LEVEL, the Lambda's application log level, which the root logger follows). The package's own
# loggers (`key_lifecycle.…`) propagate to that root logger, which Lambda formats as JSON.
LIBRARY_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")
for _name in LIBRARY_LOGGERS:
    logging.getLogger(_name).setLevel(logging.WARNING)


def log_report(report: Report) -> None:
    """One line per action (user, action, key id, status) and per warning; never a secret (reports hold none)."""
    for action in report.actions:
        log = logger.error if action.status is ActionStatus.FAILED else logger.info
        log(
            f"{action.action} {action.user_name}: {action.status}",
            extra={
                "user_name": action.user_name,
                "action": str(action.action),
                "access_key_id": action.access_key_id,
                "status": str(action.status),
                "reason": action.reason,
                "detail": action.detail,
                "dry_run": report.dry_run,
            },
        )
    for warning in report.warnings:
        logger.warning(
            warning.message,
            extra={"user_name": warning.user_name, "code": warning.code, "access_key_id": warning.access_key_id},
        )
    for error in report.errors:
        logger.error(error)


def metric_counts(report: Report) -> dict[Metric, int]:
    done = [a.action for a in report.actions if a.status is ActionStatus.DONE]
    counts = {
        Metric.USERS_CREATED: done.count(ActionKind.CREATE_USER),
        Metric.USERS_DELETED: done.count(ActionKind.DELETE_USER),
        Metric.KEYS_CREATED: done.count(ActionKind.CREATE_KEY),
        Metric.KEYS_ROTATED: done.count(ActionKind.CREATE_KEY) if report.function == "rotate_keys" else 0,
        Metric.KEYS_DEACTIVATED: done.count(ActionKind.DEACTIVATE_KEY),
        Metric.KEYS_DELETED: done.count(ActionKind.DELETE_KEY),
        Metric.WARNINGS: len(report.warnings),
        Metric.FAILURES: sum(1 for a in report.actions if a.status is ActionStatus.FAILED),
    }
    return counts


def record_metrics(function: str, counts: dict[Metric, int]) -> None:
    # Zeros are published too: an alarm or a dashboard line needs data points on quiet days.
    metrics.add_dimension(name="function", value=function)
    for name in Metric:
        metrics.add_metric(name=name.value, unit=MetricUnit.Count, value=counts.get(name, 0))
