"""The rotate function's runs: the daily rotation (replace old keys, retire replaced ones), the manual forced
rotation of one user, and the weekly (read-only) prefer-roles advice on every key of the account."""

from __future__ import annotations

from key_lifecycle.domain.rotation import plan_rotation
from key_lifecycle.gateways.snapshot import read_snapshot
from key_lifecycle.models.events import AdviseEvent, RotateEvent
from key_lifecycle.service.advisor import advise_report
from key_lifecycle.service.context import Context, Decision
from key_lifecycle.service.organization import in_account
from key_lifecycle.service.runs import execute, read_and_plan

FUNCTION = "rotate_keys"


def _rotate(request: RotateEvent | AdviseEvent, context: Context) -> Decision:
    if isinstance(request, AdviseEvent):
        # The rotate function's role reads every key and its history; its timeout leaves room for LookupEvents'
        # pace of 2 requests a second.
        report = advise_report(
            context.aws,
            context.settings,
            context.now,
            FUNCTION,
            user_name=request.user_name,
            time_budget=context.budget,
        )
        return Decision(report, kind="advise")
    scheduled = request.user_name is None and not request.force
    if scheduled:
        snapshot, plan = read_and_plan(context, lambda seen: plan_rotation(seen, context.now, context.settings))
    else:
        snapshot = read_snapshot(context.aws, context.settings, user_name=request.user_name)
        plan = plan_rotation(snapshot, context.now, context.settings, user_name=request.user_name, force=request.force)
    report, _ = execute(FUNCTION, plan, snapshot, context)
    return Decision(report, snapshot, source="rotate" if scheduled else None)


# With an `account_id`, in that member account of the organization; without one, in this account.
run_rotation = in_account(FUNCTION, _rotate)
