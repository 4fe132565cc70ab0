"""The create function's requests: the manual create of a temporary user and its first key, the hourly
reconcile, and the read-only audit and inventory."""

from __future__ import annotations

from key_lifecycle.domain.create import expiry_for, plan_create_user, plan_reconcile
from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.gateways.snapshot import read_snapshot
from key_lifecycle.models.constants import EXPIRES_AT_TAG
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.events import (
    AggregateRunsEvent,
    AuditEvent,
    CreateKeysRequest,
    CreateUserEvent,
    DigestEvent,
    InventoryEvent,
    ListAccountsEvent,
    ReconcileEvent,
)
from key_lifecycle.models.report import Report
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.service.context import Context, Decision
from key_lifecycle.service.digest import run_digest
from key_lifecycle.service.organization import aggregate_runs, in_account, list_accounts
from key_lifecycle.service.reports import audit_report, inventory_report
from key_lifecycle.service.runner import RunOutcome
from key_lifecycle.service.runs import execute, read_and_plan

FUNCTION = "create_keys"


def _create_keys(request: CreateKeysRequest, context: Context) -> Decision:
    settings, aws = context.settings, context.aws
    if isinstance(request, ListAccountsEvent):
        return list_accounts(FUNCTION, context)
    if isinstance(request, AggregateRunsEvent):
        return aggregate_runs(request, FUNCTION, context)
    if isinstance(request, AuditEvent):
        report, snapshot = audit_report(aws, settings, context.now, FUNCTION)
        return Decision(report, snapshot, kind="audit", source="audit")
    if isinstance(request, DigestEvent):
        return run_digest(FUNCTION, context)
    if isinstance(request, InventoryEvent):
        return Decision(inventory_report(aws, settings, context.now, FUNCTION))
    if isinstance(request, ReconcileEvent):
        snapshot, plan = read_and_plan(
            context, lambda seen: plan_reconcile(seen, context.now, settings), with_last_used=False
        )
        report, _ = execute(FUNCTION, plan, snapshot, context, finish_provisioning=True)
        return Decision(report, snapshot, source="reconcile")
    snapshot = read_snapshot(aws, settings, user_name=request.user_name, with_last_used=False)
    plan = plan_create_user(request, snapshot, context.now, settings)
    report, outcome = execute(FUNCTION, plan, snapshot, context, request=request, finish_provisioning=True)
    _describe_user(report, request, snapshot, outcome, context)
    return Decision(report, snapshot, owner=request.owner)


# With an `account_id`, in that member account of the organization; without one, in this account.
run_create_keys = in_account(FUNCTION, _create_keys)


def _describe_user(
    report: Report, request: CreateUserEvent, snapshot: AccountSnapshot, outcome: RunOutcome | None, context: Context
) -> None:
    """Fill the manual create's fields: the user, its key, its secret, its expiry and how the key verified."""
    existing = snapshot.find(request.user_name)
    if existing is None:
        if outcome is None:
            report.expires_at = format_timestamp(expiry_for(request.ttl_days, context.now, context.settings))
            report.verification = "skipped (dry run)"
            return
        name = request.user_name
        report.user_arn = outcome.user_arns.get(name)
        report.expires_at = outcome.expires_at.get(name)
    else:
        # Idempotent: an existing managed user is described as it is (plus whatever this call finished).
        name = existing.user_name
        report.user_arn = existing.arn
        report.expires_at = existing.tags.get(EXPIRES_AT_TAG)
        if existing.secret is not None and existing.secret.deleted_date is None:
            report.secret_arn = existing.secret.arn
        roles = classify_keys(existing)
        if roles.current is not None:
            report.access_key_id, report.verification = roles.current.access_key_id, "verified"
        elif roles.pending:
            report.access_key_id, report.verification = roles.pending[0].access_key_id, "pending"
        if outcome is None:
            report.verification = "skipped (dry run)" if report.verification is None else report.verification
            return

    key = outcome.keys.get(name)
    if key is not None:
        report.access_key_id = key.access_key_id
        report.secret_arn = key.secret_arn or report.secret_arn
        report.verification = key.verification
        report.verified_arn = key.verified_arn
    elif report.verification is None:
        report.verification = "failed"
