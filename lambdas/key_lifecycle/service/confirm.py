"""A scheduled run at scale: plan on bulk-read state, re-read and re-plan every user the plan touches before
acting, then apply per user with bounded parallelism inside the Lambda's time budget."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from key_lifecycle.domain.forewarn import plan_forewarnings
from key_lifecycle.gateways.snapshot import read_bulk_snapshot, read_user
from key_lifecycle.models.constants import WarningCode
from key_lifecycle.models.events import CreateUserEvent
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.report import Action, Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, UserState
from key_lifecycle.service.budget import UNLIMITED, Budget
from key_lifecycle.service.runner import Runner, RunOutcome, name_budget_left

if TYPE_CHECKING:
    from key_lifecycle.gateways.aws import Aws

Planner = Callable[[AccountSnapshot], Plan]

# IAM allows a few writes per second per account; adaptive retries slow the pool down further when it throttles.
WORKERS = 4

# Warnings a per-user re-read cannot change, so they need no confirmation of their own (they lead to no write:
# a warning is only reported, logged, notified and published). Those about tags rest on the users' tags, which the
# bulk read returns as fresh as GetUser/ListUserTags would. A postponed deactivation rests on a use of the replaced
# key after its replacement became current: a fresher last-use date can only be later still, and the key's age
# comes from its creation date. Every other warning is about keys whose state the credential report may show up to
# 4 hours old (a blocked rotation may be free by now, a missing key may have been added), so its user is re-read.
BULK_SAFE_WARNINGS = frozenset(
    {
        WarningCode.BAD_CURRENT_SINCE,
        WarningCode.BAD_DEACTIVATED_AT,
        WarningCode.BAD_EXEMPT_UNTIL,
        WarningCode.BAD_EXPIRES_AT,
        WarningCode.DEACTIVATION_POSTPONED,
        WarningCode.DELETION_IN_PROGRESS,
        WarningCode.UNMANAGED_IN_PATH,
    }
)


@dataclass(frozen=True)
class Decided:
    snapshot: AccountSnapshot  # what the final plan was made from (confirmed users read one by one)
    plan: Plan
    confirmed: tuple[str, ...]  # users re-read with per-user calls before the final plan


def plan_confirmed(
    aws: Aws,
    settings: Settings,
    now: datetime,
    planner: Planner,
    *,
    with_last_used: bool = True,
    sleep: Callable[[float], None] = time.sleep,
    also_confirm: Callable[[AccountSnapshot], Iterable[str]] | None = None,
) -> Decided:
    """The plan of a scheduled run. The first plan only names the users worth a closer look (any
    action, any warning a fresh read could change, or keys the bulk data could not pin down); those are re-read and
    the plan is made again, so no action ever rests on the credential report alone. Users without either cost no
    call of their own. `also_confirm(bulk snapshot)` names more users to re-read: those the caller will write to
    on its own, such as the owners' forewarnings (see `forewarned_users`)."""
    bulk = read_bulk_snapshot(aws, settings, now, sleep=sleep)
    first = planner(bulk.snapshot)
    by_name = {user.user_name.lower(): user for user in bulk.snapshot.users}
    wanted = set(bulk.unresolved) | {action.user_name.lower() for action in first.actions}
    for warning in first.warnings:
        user = by_name.get((warning.user_name or "").lower())
        if user is not None and is_managed(user, settings) and warning.code not in BULK_SAFE_WARNINGS:
            wanted.add(user.user_name.lower())
    if also_confirm is not None:
        wanted.update(name.lower() for name in also_confirm(bulk.snapshot) if name.lower() in by_name)
    if not wanted:
        return Decided(bulk.snapshot, first, ())

    fresh: dict[str, UserState | None] = {
        name: read_user(aws, by_name[name], with_last_used=with_last_used) for name in sorted(wanted) if name in by_name
    }
    users = []
    for user in bulk.snapshot.users:
        key = user.user_name.lower()
        if key not in fresh:
            users.append(user)
        elif (confirmed := fresh[key]) is not None:
            users.append(confirmed)
    snapshot = AccountSnapshot(users=tuple(users))
    return Decided(snapshot, planner(snapshot), tuple(by_name[name].user_name for name in sorted(fresh)))


def forewarned_users(now: datetime, settings: Settings) -> Callable[[AccountSnapshot], set[str]]:
    """For `plan_confirmed(also_confirm=...)`: the users a forewarning would be sent to, or recorded on, now. A
    forewarning writes `warned:*` tags and notifies the owner once per window, and its date rests on last-use dates
    (a stale report moves a stale-user deletion earlier, or a still-used key's deactivation from the hard cap to
    the grace): it is sent only from a fresh read."""

    def users(snapshot: AccountSnapshot) -> set[str]:
        plan = plan_forewarnings(snapshot, now, settings)
        return {warning.user_name for warning in plan.warnings} | set(plan.stale_tags)

    return users


def apply_in_parallel(
    aws: Aws,
    settings: Settings,
    now: datetime,
    plan: Plan,
    snapshot: AccountSnapshot,
    *,
    request: CreateUserEvent | None = None,
    finish_provisioning: bool = False,
    budget: Budget = UNLIMITED,
    workers: int = WORKERS,
) -> RunOutcome:
    """Apply the plan user by user, `workers` users at a time; each user's actions run in order by a Runner of
    its own (locks, rollback and the time budget work per user, as in a sequential run). The outcome lists
    actions user by user in the plan's order."""
    per_user: dict[str, list[Action]] = {}
    for action in plan.actions:
        per_user.setdefault(action.user_name.lower(), []).append(action)
    # Clients are made before the threads start: a boto3 session may not build clients from several threads.
    _ = aws.iam, aws.secrets

    def run(actions: list[Action]) -> RunOutcome:
        runner = Runner(aws, settings, now, finish_provisioning=finish_provisioning, budget=budget)
        return runner.apply(Plan(actions=actions), snapshot, request=request)

    if workers <= 1 or len(per_user) <= 1:
        results = [run(actions) for actions in per_user.values()]
    else:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="user") as pool:
            results = list(pool.map(run, per_user.values()))

    out = RunOutcome(actions=[], warnings=list(plan.warnings))
    for result in results:
        out.actions.extend(result.actions)
        for warning in result.warnings:
            # The runner words "out of time" once per run, without a user; one such warning for the whole run.
            if warning.code == WarningCode.TIME_BUDGET_EXHAUSTED and any(
                w.code == WarningCode.TIME_BUDGET_EXHAUSTED for w in out.warnings
            ):
                continue
            out.warnings.append(warning)
        out.errors.extend(result.errors)
        out.user_arns.update(result.user_arns)
        out.expires_at.update(result.expires_at)
        out.keys.update(result.keys)
        out.budget_left.extend(result.budget_left)
    name_budget_left(out)  # each user's runner named only its own users
    return out
