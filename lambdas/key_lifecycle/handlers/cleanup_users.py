"""cleanup_users: the daily deletion of stale managed users with every credential they hold, and the manual one."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.handlers.common import handle
from key_lifecycle.models.events import parse_cleanup_event
from key_lifecycle.observability import logger, metrics, tracer
from key_lifecycle.service.cleanup import FUNCTION, run_cleanup


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_cleanup_event, run_cleanup, lambda_context=context)
