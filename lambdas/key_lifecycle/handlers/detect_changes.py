"""detect_changes: classifies CloudTrail IAM events (via EventBridge) and reports changes made behind the stack's
back; with `out_of_band_key_response` = deactivate it also deactivates a key created by hand on a managed user."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.handlers.common import handle
from key_lifecycle.models.events import parse_cloudtrail_event
from key_lifecycle.observability import logger, metrics, tracer
from key_lifecycle.service.detection import FUNCTION, run_detection


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_cloudtrail_event, run_detection)
