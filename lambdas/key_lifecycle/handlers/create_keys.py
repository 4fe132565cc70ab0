"""create_keys: the manual create of a temporary user and its first key, and the hourly reconcile."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.handlers.common import handle
from key_lifecycle.models.events import parse_create_keys_event
from key_lifecycle.observability import logger, metrics, tracer
from key_lifecycle.service.creation import FUNCTION, run_create_keys


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_create_keys_event, run_create_keys, lambda_context=context)
