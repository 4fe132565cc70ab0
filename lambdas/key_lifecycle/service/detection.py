"""The detect function's runs: a CloudTrail IAM event (via EventBridge) classified, a change made behind the
stack's back reported; with `out_of_band_key_response` = deactivate, a key created by hand on a managed user is
deactivated (under the user's lock, as every write)."""

from __future__ import annotations

from typing import Any

from key_lifecycle.domain.classify import Classification, classify, target_user_name
from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.gateways.snapshot import read_user_now
from key_lifecycle.models.constants import CHANGE_CODE_PREFIX, OWNER_TAG, KeyStatus
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Report, Warning
from key_lifecycle.models.snapshot import UserState
from key_lifecycle.observability import logger
from key_lifecycle.service.context import Context, Decision
from key_lifecycle.service.gate import Skip
from key_lifecycle.service.notifications import publish_events
from key_lifecycle.service.organization import check_account, member_context
from key_lifecycle.service.runner import Runner

FUNCTION = "detect_changes"


def run_detection(event: dict[str, Any], context: Context) -> Decision:
    """One IAM event: in organization mode an event forwarded from a member account is judged, and acted on, in that
    account (through the function's spoke role there), after the account is checked as any `account_id` is."""
    member = _member_account(event, context)
    if member is None:
        return _detect(event, context)
    check_account(member, context)
    decision = _detect(event, member_context(member, FUNCTION, context))
    decision.report.account_id = member
    return decision


def _member_account(event: dict[str, Any], context: Context) -> str | None:
    """The member account an event comes from, in organization mode; None for the hub's own events."""
    if not context.organization.enabled:
        return None
    detail = event.get("detail") if isinstance(event.get("detail"), dict) else {}
    account = str(event.get("account") or (detail or {}).get("recipientAccountId") or "")
    return account if account and account != context.aws.caller_account_id else None


def _detect(event: dict[str, Any], context: Context) -> Decision:
    settings, aws = context.settings, context.aws
    name = target_user_name(event)
    target = read_user_now(aws, settings, name) if name else None
    change = classify(event, target, settings, region=aws.region)
    report = Report(function=FUNCTION, dry_run=context.dry_run, change=change.as_detail())
    if not change.reported:
        logger.info("IAM change needs no report", extra={"kind": str(change.kind), "event_name": change.event_name})
        return Decision(report, None)

    report.warnings.append(
        Warning(
            user_name=change.user_name,
            code=f"{CHANGE_CODE_PREFIX}{change.kind}",
            message=change.message,
            access_key_id=change.access_key_id,
        )
    )
    if change.deactivate_key and target is not None:
        report.actions.append(_deactivate(context, target, change))
    if not context.dry_run:
        publish_events(aws, settings, [(change.detail_type or "", change.as_detail())], report)
    owner = target.tags.get(OWNER_TAG) if target is not None and is_managed(target, settings) else None
    return Decision(report, None, owner=owner, kind="out_of_band")


def _deactivate(context: Context, target: UserState, change: Classification) -> Action:
    akid = change.access_key_id or ""
    action = Action(
        user_name=target.user_name,
        action=ActionKind.DEACTIVATE_KEY,
        reason="created outside the stack (out_of_band_key_response: deactivate)",
        access_key_id=akid,
    )
    # Checked again on the user as read now: a key with a version in the user's secret is the stack's own.
    if akid in classify_keys(target).stages or akid not in {k.access_key_id for k in target.keys}:
        action.status, action.detail = ActionStatus.FAILED, "refused: the key is stored in the secret or gone"
        return action
    if context.dry_run:
        return action
    iam = context.aws.iam
    runner = Runner(context.aws, context.settings, context.now)
    try:
        changed = runner.under_lock(
            target.user_name, lambda: iam.set_access_key_status(target.user_name, akid, KeyStatus.INACTIVE)
        )
    except AwsError as exc:
        action.status, action.detail = ActionStatus.FAILED, str(exc)
        return action
    if isinstance(changed, Skip):
        action.status, action.detail = ActionStatus.FAILED, f"not deactivated: {changed.message}"
        return action
    action.status, action.detail = ActionStatus.DONE, "deactivated" if changed else "already gone"
    return action
