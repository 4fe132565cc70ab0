"""rotate_keys: the daily rotation (replace old keys, retire replaced ones) and the manual forced rotation."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.handlers.common import handle
from key_lifecycle.models.events import parse_rotate_event
from key_lifecycle.observability import logger, metrics, tracer
from key_lifecycle.service.rotation import FUNCTION, run_rotation


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_rotate_event, run_rotation, lambda_context=context)
