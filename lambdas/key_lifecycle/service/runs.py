"""The plan → apply flow of a run: the snapshot and plan (bulk reads confirmed per user), then the plan applied
through the runner (or returned as planned in a dry run)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from key_lifecycle.models.events import CreateUserEvent
from key_lifecycle.models.report import Plan, Report
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.service.confirm import apply_in_parallel, plan_confirmed
from key_lifecycle.service.context import Context
from key_lifecycle.service.runner import Runner, RunOutcome


def read_and_plan(
    context: Context,
    planner: Callable[[AccountSnapshot], Plan],
    *,
    with_last_used: bool = True,
    also_confirm: Callable[[AccountSnapshot], Iterable[str]] | None = None,
) -> tuple[AccountSnapshot, Plan]:
    """The snapshot and plan of a run over every user: bulk reads, then the users the plan touches re-read one
    by one and planned again."""
    decided = plan_confirmed(
        context.aws,
        context.settings,
        context.now,
        planner,
        with_last_used=with_last_used,
        also_confirm=also_confirm,
    )
    return decided.snapshot, decided.plan


def execute(
    function: str,
    plan: Plan,
    snapshot: AccountSnapshot,
    context: Context,
    *,
    request: CreateUserEvent | None = None,
    finish_provisioning: bool = False,
) -> tuple[Report, RunOutcome | None]:
    """Apply the plan, or in a dry run return it as planned without a single AWS write."""
    if context.dry_run:
        return Report(function=function, dry_run=True, actions=plan.actions, warnings=plan.warnings), None
    if request is None:
        # A scheduled run may touch many users: several at a time, each in order, within the time budget.
        outcome = apply_in_parallel(
            context.aws,
            context.settings,
            context.now,
            plan,
            snapshot,
            finish_provisioning=finish_provisioning,
            budget=context.budget,
        )
    else:
        runner = Runner(
            context.aws, context.settings, context.now, finish_provisioning=finish_provisioning, budget=context.budget
        )
        outcome = runner.apply(plan, snapshot, request=request)
    report = Report(
        function=function,
        dry_run=False,
        actions=outcome.actions,
        warnings=outcome.warnings,
        errors=outcome.errors,
    )
    return report, outcome
