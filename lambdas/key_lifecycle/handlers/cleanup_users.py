"""cleanup_users: the daily deletion of stale managed users with every credential they hold, and the manual one."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.domain.planner import plan_cleanup
from key_lifecycle.gateways import read_snapshot
from key_lifecycle.handlers.common import Context, Decision, execute, handle, read_and_plan
from key_lifecycle.handlers.detection import send_forewarnings
from key_lifecycle.models.events import CleanupEvent, parse_cleanup_event
from key_lifecycle.models.report import ActionKind
from key_lifecycle.observability import logger, metrics, tracer
from key_lifecycle.service.confirm import forewarned_users

FUNCTION = "cleanup_users"


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_cleanup_event, _decide, lambda_context=context)


def _decide(request: CleanupEvent, context: Context) -> Decision:
    if request.user_name is None:
        # Forewarnings write tags and notify owners: their users are re-read too, never warned from the report alone.
        snapshot, plan = read_and_plan(
            context,
            lambda seen: plan_cleanup(seen, context.now, context.settings),
            also_confirm=forewarned_users(context.now, context.settings),
        )
    else:
        snapshot = read_snapshot(context.aws, context.settings, user_name=request.user_name)
        plan = plan_cleanup(snapshot, context.now, context.settings, user_name=request.user_name)
    report, _ = execute(FUNCTION, plan, snapshot, context)
    if request.user_name is None:
        # The daily run warns owners of what is coming; users it has just deleted need no warning.
        deleted = {a.user_name.lower() for a in plan.actions if a.action is ActionKind.DELETE_USER}
        send_forewarnings(
            context.aws,
            context.settings,
            snapshot,
            context.now,
            dry_run=context.dry_run,
            report=report,
            skip_users=deleted,
        )
    return Decision(report, snapshot)
