"""The one Powertools Logger, Tracer and Metrics of the functions, and the log hygiene every function relies on."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit

from key_lifecycle.models.constants import METRICS_NAMESPACE, SERVICE_NAME, Metric
from key_lifecycle.models.report import ActionKind, ActionStatus, Report

SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)


# X-Ray traces the functions' AWS calls through botocore, the one library they call out with; Powertools would
# otherwise patch every library the X-Ray SDK knows, which costs cold-start time and traces nothing more here.
TRACED_MODULES = ("botocore",)


def _tracing_enabled() -> bool:
    # The same conditions under which Powertools itself would trace: inside Lambda and not switched off.
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "false").strip().lower() in {"1", "true", "yes", "on"}
    in_lambda = bool(os.environ.get("LAMBDA_TASK_ROOT")) and not os.environ.get("AWS_SAM_LOCAL")
    return in_lambda and not disabled


class _FirstUseTracer:
    """The Powertools Tracer, built when a traced function is first invoked rather than when it is imported:
    building it imports the X-Ray SDK (about a tenth of a second), which `make bench` reports with the first
    invocation. Where nothing would be traced, it is never built and the handler runs as it is."""

    def __init__(self) -> None:
        self._tracer: Any = None

    def get(self) -> Any:
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=SERVICE, patch_modules=TRACED_MODULES)
        return self._tracer

    def capture_lambda_handler(self, capture_response: bool = True) -> Callable[[Any], Any]:
        def decorate(handler: Callable[..., Any]) -> Callable[..., Any]:
            wrapped: Callable[..., Any] | None = None

            @functools.wraps(handler)
            def run(event: Any, context: Any) -> Any:
                nonlocal wrapped
                if wrapped is None:
                    wrapped = handler
                    if _tracing_enabled():
                        wrapped = self.get().capture_lambda_handler(handler, capture_response=capture_response)
                return wrapped(event, context)

            return run

        return decorate


logger = Logger(service=SERVICE)
# Responses are never captured because a report is the only thing a handler returns and tracing it adds
# nothing but risk.
tracer = _FirstUseTracer()
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

# botocore logs request and response bodies at DEBUG, and a PutSecretValue body holds a secret access key:
# these loggers stay at WARNING whatever level the rest of the process is set to.
# Pinned: a later setLevel (boto3.set_stream_logger, a test, an operator's DEBUG) is raised back to WARNING,
# on these loggers and on any of their children, so DEBUG anywhere can never reach them.
PINNED_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer")


def _pinned(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in PINNED_LOGGERS)


class _PinnedLogger(logging.Logger):
    def setLevel(self, level: int | str) -> None:
        numeric = logging.getLevelName(level) if isinstance(level, str) else level
        super().setLevel(max(int(numeric), logging.WARNING) if _pinned(self.name) else level)


def pin_library_loggers() -> None:
    for existing in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(existing, logging.Logger) and _pinned(existing.name):
            existing.__class__ = _PinnedLogger
            existing.setLevel(existing.level)
    for name in PINNED_LOGGERS:
        logger_ = logging.getLogger(name)
        logger_.__class__ = _PinnedLogger
        logger_.setLevel(logging.WARNING)
    # Loggers created later (botocore creates some lazily) are pinned as they appear.
    previous = logging.getLoggerClass()
    if previous is not _PinnedLogger:
        logging.setLoggerClass(_PinnedLogger)


pin_library_loggers()


def use_structured_logging() -> None:
    """Give the lifecycle and gateway loggers the same JSON format as the Powertools logger."""
    copy_config_to_registered_loggers(
        source_logger=logger, include={"key_lifecycle.service.runner", "lifecycle", "gateways"}
    )


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
