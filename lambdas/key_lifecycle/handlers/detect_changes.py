"""detect_changes: classifies CloudTrail IAM events (via EventBridge) and reports changes made behind the stack's
back; with `out_of_band_key_response` = deactivate it also deactivates a key created by hand on a managed user."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from key_lifecycle.domain.classify import Classification, classify, target_user_name
from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.gateways import AwsError
from key_lifecycle.handlers.common import Context, Decision, handle
from key_lifecycle.handlers.detection import publish_events
from key_lifecycle.models.constants import CHANGE_CODE_PREFIX, OWNER_TAG, KeyStatus
from key_lifecycle.models.events import parse_cloudtrail_event
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Report, Warning
from key_lifecycle.models.snapshot import AccessKeyState, SecretState, SecretVersionState, UserState
from key_lifecycle.observability import logger, metrics, tracer

if TYPE_CHECKING:
    from key_lifecycle.gateways.aws import Aws
    from key_lifecycle.models.settings import Settings

FUNCTION = "detect_changes"


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return handle(FUNCTION, event, parse_cloudtrail_event, _decide)


def read_user(aws: Aws, settings: Settings, user_name: str) -> UserState | None:
    """One user as it is now, with its keys and (if managed) its secret's stages; None if it does not exist."""
    found = aws.iam.get_user(user_name)
    if found is None:
        return None
    user = UserState(
        user_name=found["UserName"],
        user_id=found.get("UserId", ""),
        arn=found["Arn"],
        path=found.get("Path", "/"),
        create_date=found["CreateDate"],
        tags=aws.iam.user_tags(found["UserName"]),
        permissions_boundary_arn=(found.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
    )
    if not is_managed(user, settings):
        return user  # nothing more is read about users the stack does not manage
    keys = tuple(
        AccessKeyState(access_key_id=k["AccessKeyId"], status=k["Status"], create_date=k["CreateDate"])
        for k in aws.iam.list_access_keys(user.user_name)
    )
    name = settings.secret_prefix + user.user_name
    described = aws.secrets.describe(name)
    secret = None
    if described is not None:
        secret = SecretState(
            name=name,
            arn=described["ARN"],
            versions=tuple(
                SecretVersionState(version_id=version_id, stages=tuple(stages))
                for version_id, stages in sorted(described.get("VersionIdsToStages", {}).items())
            ),
            deleted_date=described.get("DeletedDate"),
        )
    return user.model_copy(update={"keys": keys, "secret": secret})


def _decide(event: dict[str, Any], context: Context) -> Decision:
    settings, aws = context.settings, context.aws
    name = target_user_name(event)
    target = read_user(aws, settings, name) if name else None
    change = classify(event, target, settings)
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
        report.actions.append(_deactivate(aws, target, change, dry_run=context.dry_run))
    if not context.dry_run:
        publish_events(aws, settings, [(change.detail_type or "", change.as_detail())], report)
    owner = target.tags.get(OWNER_TAG) if target is not None and is_managed(target, settings) else None
    return Decision(report, None, owner=owner, kind="out_of_band")


def _deactivate(aws: Aws, target: UserState, change: Classification, *, dry_run: bool) -> Action:
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
    if dry_run:
        return action
    try:
        changed = aws.iam.set_access_key_status(target.user_name, akid, KeyStatus.INACTIVE)
    except AwsError as exc:
        action.status, action.detail = ActionStatus.FAILED, str(exc)
        return action
    action.status, action.detail = ActionStatus.DONE, "deactivated" if changed else "already gone"
    return action
