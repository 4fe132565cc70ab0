"""The one Powertools Logger, Tracer and Metrics of the functions, and the log hygiene every function relies on."""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from models.report import ActionKind, ActionStatus, Report

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "iam-key-lifecycle")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "IamKeyLifecycle")

logger = Logger(service=SERVICE)
# Disabled by Powertools itself outside Lambda (and by POWERTOOLS_TRACE_DISABLED); responses are never
# captured because a report is the only thing a handler returns and tracing it adds nothing but risk.
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

METRIC_NAMES = (
    "UsersCreated",
    "UsersDeleted",
    "KeysCreated",
    "KeysRotated",
    "KeysDeactivated",
    "KeysDeleted",
    "Warnings",
    "Failures",
)

# botocore logs request and response bodies at DEBUG, and a PutSecretValue body holds a secret access key:
# these loggers stay at WARNING whatever level the rest of the process is set to.
for _name in ("botocore", "boto3", "urllib3", "s3transfer"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def use_structured_logging() -> None:
    """Give the lifecycle and gateway loggers the same JSON format as the Powertools logger."""
    copy_config_to_registered_loggers(source_logger=logger, include={"lifecycle.runner", "lifecycle", "gateways"})


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


def metric_counts(report: Report) -> dict[str, int]:
    done = [a.action for a in report.actions if a.status is ActionStatus.DONE]
    counts = {
        "UsersCreated": done.count(ActionKind.CREATE_USER),
        "UsersDeleted": done.count(ActionKind.DELETE_USER),
        "KeysCreated": done.count(ActionKind.CREATE_KEY),
        "KeysRotated": done.count(ActionKind.CREATE_KEY) if report.function == "rotate_keys" else 0,
        "KeysDeactivated": done.count(ActionKind.DEACTIVATE_KEY),
        "KeysDeleted": done.count(ActionKind.DELETE_KEY),
        "Warnings": len(report.warnings),
        "Failures": sum(1 for a in report.actions if a.status is ActionStatus.FAILED),
    }
    return counts


def record_metrics(function: str, counts: dict[str, int]) -> None:
    # Zeros are published too: an alarm or a dashboard line needs data points on quiet days.
    metrics.add_dimension(name="function", value=function)
    for name in METRIC_NAMES:
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=counts.get(name, 0))
