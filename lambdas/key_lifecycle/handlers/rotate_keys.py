"""rotate_keys: the daily rotation (replace old keys, retire replaced ones) and the manual forced rotation."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.domain.planner import plan_rotation
from key_lifecycle.gateways import read_snapshot
from key_lifecycle.handlers.common import Context, Decision, execute, handle, read_and_plan
from key_lifecycle.models.events import RotateEvent, parse_rotate_event
from key_lifecycle.observability import logger, metrics, tracer

FUNCTION = "rotate_keys"


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_rotate_event, _decide, lambda_context=context)


def _decide(request: RotateEvent, context: Context) -> Decision:
    if request.user_name is None and not request.force:
        snapshot, plan = read_and_plan(context, lambda seen: plan_rotation(seen, context.now, context.settings))
    else:
        snapshot = read_snapshot(context.aws, context.settings, user_name=request.user_name)
        plan = plan_rotation(snapshot, context.now, context.settings, user_name=request.user_name, force=request.force)
    report, _ = execute(FUNCTION, plan, snapshot, context)
    return Decision(report, snapshot)
