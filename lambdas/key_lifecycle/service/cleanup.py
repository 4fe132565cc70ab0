"""The cleanup function's runs: the daily deletion of stale managed users with every credential they hold (and
the owners' forewarnings of what is coming), and the manual cleanup of one user."""

from __future__ import annotations

from key_lifecycle.domain.cleanup import plan_cleanup
from key_lifecycle.gateways.snapshot import read_snapshot
from key_lifecycle.models.events import CleanupEvent
from key_lifecycle.models.report import ActionKind
from key_lifecycle.service.confirm import forewarned_users
from key_lifecycle.service.context import Context, Decision
from key_lifecycle.service.notifications import send_forewarnings
from key_lifecycle.service.organization import in_account
from key_lifecycle.service.runs import execute, read_and_plan

FUNCTION = "cleanup_users"


def _cleanup(request: CleanupEvent, context: Context) -> Decision:
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
    return Decision(report, snapshot, source="cleanup" if request.user_name is None else None)


# With an `account_id`, in that member account of the organization; without one, in this account.
run_cleanup = in_account(FUNCTION, _cleanup)
