"""Organization mode's runs: a request's `account_id` checked against the organization before anything is read in
that account, today's run carried out in the member account through its spoke role, the list of target accounts
(an organization run's first step) and the one report of an organization run (its last step)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

from key_lifecycle.domain.organization import aggregate
from key_lifecycle.domain.plan import RequestRefused
from key_lifecycle.gateways.results import ResultFilesError
from key_lifecycle.models.constants import (
    SPOKE_GROUP_NAME,
    SPOKE_SECRETS_KEY_ALIAS,
    spoke_boundary_arn,
)
from key_lifecycle.models.events import AggregateRunsEvent, ResultWriterDetails
from key_lifecycle.models.organization import ChildRun, OrganizationAccount
from key_lifecycle.models.report import Report
from key_lifecycle.service.context import Context, Decision

R = TypeVar("R")


def in_account(function: str, run: Callable[[R, Context], Decision]) -> Callable[[R, Context], Decision]:
    """`run` as it is without an `account_id`; with one, checked and carried out in that member account."""

    def decide(request: R, context: Context) -> Decision:
        account_id = getattr(request, "account_id", None)
        if account_id is None:
            return run(request, context)
        check_account(account_id, context)
        decision = run(request, member_context(account_id, function, context))
        decision.report.account_id = account_id
        # The owners hear of their users in this account as in a single account (per owner, what opened, cleared
        # or was done; open conditions kept under the account's prefix of the hub's table); the organization run's
        # last step tells the operator which accounts failed.
        return decision

    return decide


def _refuse(message: str) -> RequestRefused:
    return RequestRefused(f"account_id: {message}; nothing was read or changed in it")


def check_account(account_id: str, context: Context) -> OrganizationAccount:
    """The account, when it is an active target account that is not excluded; otherwise RequestRefused naming
    `account_id`. Reads only Organizations (never the member account)."""
    organization = context.organization
    if not organization.enabled:
        raise _refuse("organization mode is off (ORGANIZATION_ID is not set): leave it out to act on this account")
    if account_id in organization.organization_exclude_accounts:
        raise _refuse("the account is excluded (ORGANIZATION_EXCLUDE_ACCOUNTS)")
    gateway = context.aws.organizations
    account = gateway.describe_account(account_id)
    if account is None:
        raise _refuse(f"not an account of the organization {organization.organization_id}")
    if not account.active:
        raise _refuse(f"the account is {account.state.lower() or 'not active'}")
    if account_id == gateway.management_account_id():
        raise _refuse("the account is the organization's management account, where StackSets deploy no spoke")
    targets = set(organization.organization_target_ous)
    if targets and not targets & set(gateway.ancestors(account_id)):
        raise _refuse("the account is not under the target OUs (ORGANIZATION_TARGET_OUS)")
    return account


def member_context(account_id: str, function: str, context: Context) -> Context:
    """The context of a run in a member account: its clients through the function's spoke role there, and the
    spoke's fixed resources (boundary, group, secrets key) in place of the hub's own. Locks, notifications and
    events stay the hub's."""
    aws = context.aws.for_account(account_id, function)
    settings = context.settings.model_copy(
        update={
            "permissions_boundary_arn": spoke_boundary_arn(aws.partition, account_id),
            "temporary_user_group": SPOKE_GROUP_NAME,
            # CreateSecret is allowed only with the key's ARN (secretsmanager:KmsKeyArn); the spoke's key is known
            # by its alias.
            "secret_kms_key_id": aws.key_arn(SPOKE_SECRETS_KEY_ALIAS),
        }
    )
    return replace(context, aws=aws, settings=settings)


def _require_organization(action: str, context: Context) -> None:
    if not context.organization.enabled:
        raise RequestRefused(f"action: {action} needs organization mode (ORGANIZATION_ID is not set)")


def list_accounts(function: str, context: Context) -> Decision:
    """The target accounts, as the items of the organization run's map; suspended and excluded ones are left out
    (and listed with the reason under `organization.skipped`)."""
    _require_organization("list_accounts", context)
    organization = context.organization
    targets = context.aws.organizations.target_accounts(
        organization.organization_target_ous, organization.organization_exclude_accounts
    )
    skipped = [{"account_id": account, "reason": reason} for account, reason in targets.skipped.items()]
    report = Report(
        function=function,
        dry_run=context.dry_run,
        accounts=targets.as_items(),
        organization={"skipped": skipped},
    )
    return Decision(report, notify=False)


def aggregate_runs(request: AggregateRunsEvent, function: str, context: Context) -> Decision:
    """One report for an organization run, from the map's result files: accounts done, accounts failed with their
    reason, actions and warnings by account, errors. It is the run's one notification."""
    _require_organization("aggregate_runs", context)
    writer = request.result_writer
    results = context.aws.results
    failure = request.map_failed
    runs: list[ChildRun] = []
    try:
        if isinstance(writer, ResultWriterDetails):
            bucket, manifest = writer.Bucket, writer.Key
        else:
            after = datetime.fromisoformat(writer.written_after) if writer.written_after else None
            bucket, manifest = writer.bucket, results.latest_manifest(writer.bucket, writer.prefix, after)
        runs = results.child_runs(bucket, manifest)
    except ResultFilesError as exc:
        if failure is None:
            raise RequestRefused(f"result_writer: {exc}") from None
        # A map run that failed before writing its results: the report still says it failed, and why.
        failure = failure.model_copy(update={"Cause": f"{failure.Cause} (per-account results: {exc})".lstrip()})
    section, errors, dry_run = aggregate(
        request.job, runs, (failure.Error, failure.Cause) if failure is not None else None
    )
    report = Report(function=function, dry_run=dry_run, errors=errors, organization=section)
    return Decision(report, kind="audit" if request.job == "audit" else None)
