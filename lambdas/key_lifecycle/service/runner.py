"""Applies a plan through the gateways: actions in order, a failure stops only its own user, and a manual
create that fails after CreateUser is undone completely."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, TypeVar
from uuid import uuid4

from key_lifecycle.domain.create import expiry_for
from key_lifecycle.domain.rules import classify_keys, may_leave_group
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.gateways.secrets import MalformedSecret, SecretsGateway, UnsafeSecret, key_record
from key_lifecycle.models.constants import (
    CURRENT_SINCE_TAG_PREFIX,
    DEACTIVATED_AT_TAG_PREFIX,
    DELETING_TAG,
    EXPIRES_AT_TAG,
    MANAGED_BY_TAG,
    OWNER_TAG,
    PENDING_KEY_TAG,
    PROVISIONING_TAG,
    PURPOSE_TAG,
    KeyStatus,
    WarningCode,
)
from key_lifecycle.models.dates import as_utc, format_timestamp
from key_lifecycle.models.events import CreateUserEvent
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Plan, Warning
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.service.budget import UNLIMITED, Budget
from key_lifecycle.service.gate import Skip, UserGate

if TYPE_CHECKING:
    from key_lifecycle.gateways.aws import Aws

log = logging.getLogger(__name__)
T = TypeVar("T")

# Set by CreateUser, removed once the user is complete. The create function's role may delete only users
# that still carry it, which is what makes a rollback possible and finished users safe from that role.
SKIPPED_DETAIL = "skipped: an earlier action on this user failed"


class ActionFailed(Exception):
    """An action could not be carried out. The message is safe to report (never a secret)."""


@dataclass
class KeyOutcome:
    access_key_id: str
    secret_arn: str | None
    verification: str  # "verified" | "pending" | "failed"
    verified_arn: str | None = None


@dataclass
class RunOutcome:
    actions: list[Action]
    warnings: list[Warning]
    errors: list[str] = field(default_factory=list)
    user_arns: dict[str, str] = field(default_factory=dict)  # users created by this run
    expires_at: dict[str, str] = field(default_factory=dict)  # users created by this run
    keys: dict[str, KeyOutcome] = field(default_factory=dict)  # last key created or verified, per user
    budget_left: list[str] = field(default_factory=list)  # users not started: the time budget ran out


@dataclass
class _Undo:
    what: str
    step: Callable[[], object]


@dataclass
class _UserInfo:
    arn: str
    provisioning: bool
    secret_arn: str | None = None
    in_group: bool = True  # False: a half-made user cut short before it joined the group


@dataclass
class _Promotion:
    """The version a promotion moved AWSCURRENT from, once it happened (a rollback moves it back)."""

    previous: str | None = None


class Runner:
    """Applies plans, and makes single writes, each user under its lock and within the time budget."""

    def __init__(
        self,
        aws: Aws,
        settings: Settings,
        now: datetime,
        *,
        finish_provisioning: bool = False,
        budget: Budget = UNLIMITED,
    ) -> None:
        """`finish_provisioning`: remove the provisioning tag once a user's key is stored (the create function
        only: the others' roles may not untag it, and a half-made user is the create function's to finish).
        `budget`: the Lambda time left; users not started before it runs out are left for the next run."""
        self.aws = aws
        self.settings = settings
        self.now = as_utc(now)
        self.finish_provisioning = finish_provisioning
        self.budget = budget

    def gate(self) -> UserGate:
        """Per-user lock and time budget (locking is off without a lock table, e.g. in unit tests)."""
        table = self.settings.lock_table_name
        return UserGate(self.aws.locks(table) if table else None, self.now, self.budget)

    def apply(self, plan: Plan, snapshot: AccountSnapshot, *, request: CreateUserEvent | None = None) -> RunOutcome:
        """Every action of the plan in order; a failure stops only its own user, a manual create that fails after
        CreateUser is undone completely."""
        return _Application(self, snapshot, request).apply(plan)

    def under_lock(self, user_name: str, write: Callable[[], T]) -> T | Skip:
        """One write outside a plan (a forewarning's record, an out-of-band key's deactivation), made while holding
        the user's lock; the Skip when another run holds it or the time budget is spent. Raises what the write or
        the lock table raises."""
        gate = self.gate()
        skip = gate.enter(user_name)
        if skip is not None:
            return skip
        try:
            return write()
        finally:
            gate.leave_all()


class _Application:
    """One plan being applied: the snapshot it was made from, the manual request, and what the run learns about
    its users as it goes (all set here, none of it outlives the plan)."""

    def __init__(self, runner: Runner, snapshot: AccountSnapshot, request: CreateUserEvent | None) -> None:
        self.runner = runner
        self.aws, self.settings, self.now = runner.aws, runner.settings, runner.now
        self.snapshot = snapshot
        self.request = request
        self.users: dict[str, _UserInfo] = {}
        self.secrets_scheduled: set[str] = set()

    def apply(self, plan: Plan) -> RunOutcome:
        out = RunOutcome(actions=[], warnings=list(plan.warnings))
        failed: set[str] = set()
        undo: dict[str, list[_Undo]] = {}  # only users created by this run are rolled back
        gate = self.runner.gate()
        last = {a.user_name.lower(): i for i, a in enumerate(plan.actions)}
        entered: set[str] = set()
        skipped: dict[str, Skip] = {}
        for index, planned in enumerate(plan.actions):
            action = planned.model_copy()
            out.actions.append(action)
            user_key = action.user_name.lower()
            if user_key in failed:
                action.status, action.detail = ActionStatus.FAILED, SKIPPED_DETAIL
                continue
            if user_key not in entered and user_key not in skipped:
                try:
                    skip = gate.enter(action.user_name)
                except Exception as exc:
                    action.status, action.detail = ActionStatus.FAILED, f"lock not taken: {_safe_detail(exc)}"
                    failed.add(user_key)
                    continue
                if skip is None:
                    entered.add(user_key)
                else:
                    skipped[user_key] = skip
                    _report_skip(action.user_name, skip, out)
            if user_key in skipped:
                action.detail = skipped[user_key].message  # stays "planned": not carried out by this run
                continue
            try:
                action.detail = self._dispatch(action, out, undo)
                action.status = ActionStatus.DONE
            except Exception as exc:
                action.status, action.detail = ActionStatus.FAILED, _safe_detail(exc)
                failed.add(user_key)
                if user_key in undo:
                    self._roll_back(action, undo.pop(user_key), out)
            if last[user_key] == index or user_key in failed:
                gate.leave(action.user_name)
        gate.leave_all()
        name_budget_left(out)
        return out

    # ------------------------------------------------------------------------------------------------------

    def _dispatch(self, action: Action, out: RunOutcome, undo: dict[str, list[_Undo]]) -> str:
        kind = action.action
        if kind is ActionKind.CREATE_USER:
            return self._create_user(action, out, undo)
        if kind is ActionKind.CREATE_KEY:
            return self._create_key(action, out, undo.get(action.user_name.lower()))
        if kind is ActionKind.VERIFY_KEY:
            return self._verify_key(action, out)
        if kind is ActionKind.DEACTIVATE_KEY:
            return self._deactivate_key(action)
        if kind is ActionKind.DELETE_KEY:
            return self._delete_key(action)
        if kind is ActionKind.DELETE_USER:
            return self._delete_user(action)
        if kind is ActionKind.DELETE_SECRET:
            return self._delete_secret(action)
        raise ActionFailed(f"unknown action {kind}")

    def _secret_name(self, user_name: str) -> str:
        return self.settings.secret_prefix + user_name

    def _user(self, user_name: str) -> _UserInfo:
        info = self.users.get(user_name.lower())
        if info is not None:
            return info
        user = self.snapshot.find(user_name)
        if user is None:
            raise ActionFailed(f"user {user_name} is not in the account snapshot")
        info = _UserInfo(
            arn=user.arn,
            provisioning=user.tags.get(PROVISIONING_TAG) == "true",
            secret_arn=user.secret.arn if user.secret is not None else None,
            in_group=not self.settings.temporary_user_group or self.settings.temporary_user_group in user.groups,
        )
        self.users[user_name.lower()] = info
        return info

    def _key_id(self, action: Action) -> str:
        if not action.access_key_id:
            raise ActionFailed(f"{action.action} needs an access key id")
        return action.access_key_id

    # Creating ---------------------------------------------------------------------------------------------

    def _create_user(self, action: Action, out: RunOutcome, undo: dict[str, list[_Undo]]) -> str:
        request, s, iam = self.request, self.settings, self.aws.iam
        name = action.user_name
        if request is None or request.user_name != name:
            raise ActionFailed("create_user is only carried out for the manual request that asked for it")
        expires = format_timestamp(expiry_for(request.ttl_days, self.now, s))
        tags = {MANAGED_BY_TAG: s.managed_by_tag_value, OWNER_TAG: request.owner, EXPIRES_AT_TAG: expires}
        if request.purpose:
            tags[PURPOSE_TAG] = request.purpose
        tags[PROVISIONING_TAG] = "true"
        user = iam.create_user(
            name, path=s.managed_user_path, tags=tags, permissions_boundary_arn=s.permissions_boundary_arn
        )
        # The user keeps its provisioning tag until the very end, so every undo step below stays allowed.
        steps = undo.setdefault(name.lower(), [_Undo("user", lambda: iam.delete_user(name))])
        self.users[name.lower()] = _UserInfo(arn=user.arn, provisioning=True)
        out.user_arns[name] = user.arn
        out.expires_at[name] = expires
        detail = f"created under {s.managed_user_path}, expires at {expires}"
        group = s.temporary_user_group
        if group:
            iam.add_user_to_group(name, group)
            steps.append(_Undo("group membership", lambda: iam.remove_user_from_group(name, group)))
            detail += f", member of {group}"
        return detail

    def _delete_unknown_keys(self, name: str, before: set[str]) -> str:
        """After a CreateAccessKey whose answer never arrived: delete any key that was not there before it."""
        iam = self.aws.iam
        try:
            unknown = [k.access_key_id for k in iam.list_access_keys(name) if k.access_key_id not in before]
        except AwsError:
            # The pending-key tag stays: the next run deletes a key that has no stored secret.
            return "whether a key was created is unknown (listing the keys failed); the next run deletes it"
        kept = [akid for akid in unknown if not _attempt(partial(iam.delete_access_key, name, akid))]
        if kept:
            return f"the new key {', '.join(kept)} could not be deleted; the next run deletes it"
        _attempt(lambda: iam.untag_user(name, [PENDING_KEY_TAG]))
        return f"the new key {', '.join(unknown)} was deleted again" if unknown else "no key was created"

    def _create_key(self, action: Action, out: RunOutcome, steps: list[_Undo] | None) -> str:
        iam, secrets, s = self.aws.iam, self.aws.secrets, self.settings
        name = action.user_name
        info = self._user(name)
        before = {k.access_key_id for k in iam.list_access_keys(name)}
        if len(before) >= 2:
            raise ActionFailed("the user already has 2 access keys (the IAM limit); no third key is created")

        secret_name = self._secret_name(name)
        # The secret exists before the key does, so only one call separates a new key from its stored copy.
        try:
            secret = secrets.ensure(
                secret_name,
                description=f"Access key of the temporary IAM user {name}; managed by {s.managed_by_tag_value}",
                tags={MANAGED_BY_TAG: s.managed_by_tag_value},
                kms_key_id=s.secret_kms_key_id,
            )
        except UnsafeSecret as exc:
            raise ActionFailed(str(exc)) from None
        except AwsError as exc:
            # A write may have taken effect although its answer was lost; a new user owns no secret yet, so
            # whatever exists under its name now is put away again.
            if steps is not None and exc.operation in ("CreateSecret", "RestoreSecret"):
                steps.append(_Undo("secret", lambda: _discard_secret(secrets, secret_name, s.secret_recovery_days)))
            raise
        info.secret_arn = secret.arn
        if steps is not None and secret.origin in ("created", "restored"):
            # Never ForceDeleteWithoutRecovery (the roles are denied it): a rolled-back secret stays recoverable.
            steps.append(_Undo("secret", lambda: secrets.schedule_deletion(secret_name, s.secret_recovery_days)))

        # Write-ahead: should the run die between CreateAccessKey and PutSecretValue, the next run knows the
        # key without a secret is this stack's orphan (not someone else's key) and deletes it.
        iam.tag_user(name, {PENDING_KEY_TAG: format_timestamp(self.now)})
        try:
            new = iam.create_access_key(name)
        except AwsError as exc:
            # The key may exist although its answer was lost or unreadable: nobody can ever read its secret.
            raise ActionFailed(f"{exc}; {self._delete_unknown_keys(name, before)}") from None
        akid = new.access_key_id
        action.access_key_id = akid
        version_id = f"{akid}-{uuid4().hex}"
        try:
            secrets.put_pending_version(
                secret_name,
                version_id,
                key_record(akid, new.secret_access_key, name, format_timestamp(as_utc(new.create_date))),
            )
        except AwsError as exc:
            # Never a key without its stored secret: nobody could ever read it, and it would take a key slot.
            if _attempt(lambda: iam.delete_access_key(name, akid)):
                _attempt(lambda: iam.untag_user(name, [PENDING_KEY_TAG]))
                raise ActionFailed(f"{exc}; the new key {akid} was deleted again") from None
            out.errors.append(f"user {name}: key {akid} exists without a stored secret and could not be deleted")
            raise ActionFailed(f"{exc}; the new key {akid} could not be deleted") from None

        promotion = _Promotion()
        # A secret this call created goes as a whole; in an existing one only the new version is retracted.
        if steps is not None and secret.origin != "created":
            steps.append(
                _Undo(
                    "secret version",
                    lambda: secrets.retract_version(secret_name, version_id, current_back_to=promotion.previous),
                )
            )
        if steps is not None:
            steps.append(_Undo("access key", lambda: iam.delete_access_key(name, akid)))
        # The key is stored: it is no longer an orphan should anything below fail.
        iam.untag_user(name, [PENDING_KEY_TAG])
        return self._verify_and_promote(name, info, version_id, akid, new.secret_access_key, out, promotion=promotion)

    def _verify_key(self, action: Action, out: RunOutcome) -> str:
        name, akid = action.user_name, self._key_id(action)
        info = self._user(name)
        stored = self.aws.secrets.pending_key(self._secret_name(name), akid)
        if stored is None:
            known = self.snapshot.find(name)
            current = classify_keys(known).current if known is not None else None
            if current is not None and current.access_key_id == akid and info.provisioning:
                self._finish_provisioning(name, info)
                return "already verified and AWSCURRENT; the user's creation is finished"
            raise ActionFailed(f"no AWSPENDING version of the user's secret holds key {akid}")
        user = self.snapshot.find(name)
        if user is not None and PENDING_KEY_TAG in user.tags and not classify_keys(user).unstored:
            # A run cut short between storing this key and clearing its intent.
            self.aws.iam.untag_user(name, [PENDING_KEY_TAG])
        return self._verify_and_promote(name, info, stored.version_id, akid, stored.secret_access_key, out)

    def _verify_and_promote(
        self,
        name: str,
        info: _UserInfo,
        version_id: str,
        akid: str,
        secret_access_key: str,
        out: RunOutcome,
        *,
        promotion: _Promotion | None = None,
    ) -> str:
        iam, s = self.aws.iam, self.settings
        result = self.aws.verifier.verify(akid, secret_access_key, info.arn, s.verify_timeout_seconds)
        if result.status == "mismatch":
            out.keys[name] = KeyOutcome(akid, info.secret_arn, "failed")
            raise ActionFailed(f"verification failed: STS names another principal for key {akid}")
        if result.status == "pending":
            out.keys[name] = KeyOutcome(akid, info.secret_arn, "pending")
            out.warnings.append(
                Warning(
                    user_name=name,
                    code=WarningCode.VERIFICATION_PENDING,
                    message=(
                        f"key {akid} did not verify within {s.verify_timeout_seconds:g} s "
                        f"(last error {result.last_error}); it stays AWSPENDING and the next run retries"
                    ),
                    access_key_id=akid,
                )
            )
            detail = "pending verification"
        else:
            previous = self.aws.secrets.promote(self._secret_name(name), version_id)
            if promotion is not None:
                promotion.previous = previous
            iam.tag_user(name, {CURRENT_SINCE_TAG_PREFIX + akid: format_timestamp(self.now)})
            out.keys[name] = KeyOutcome(akid, info.secret_arn, "verified", result.arn)
            detail = f"verified as {result.arn}; its secret version is AWSCURRENT"
        self._finish_provisioning(name, info)
        return detail

    def _finish_provisioning(self, name: str, info: _UserInfo) -> None:
        group = self.settings.temporary_user_group
        if info.provisioning and self.runner.finish_provisioning:
            if not info.in_group and group:
                # Cut short between CreateUser and AddUserToGroup: the user is finished, not left half-made.
                self.aws.iam.add_user_to_group(name, group)
                info.in_group = True
            self.aws.iam.untag_user(name, [PROVISIONING_TAG])
            info.provisioning = False

    # Retiring keys ----------------------------------------------------------------------------------------

    def _refuse_current_key(self, name: str, akid: str) -> None:
        # The planner never retires the verified current key; checked again here because it is the one
        # mistake that cuts a user off.
        user = self.snapshot.find(name)
        if user is not None:
            current = classify_keys(user).current
            if current is not None and current.access_key_id == akid:
                raise ActionFailed(f"refused: key {akid} is the user's verified current key")

    def _deactivate_key(self, action: Action) -> str:
        name, akid = action.user_name, self._key_id(action)
        self._refuse_current_key(name, akid)
        if not self.aws.iam.set_access_key_status(name, akid, KeyStatus.INACTIVE):
            return "already gone"
        self.aws.iam.tag_user(name, {DEACTIVATED_AT_TAG_PREFIX + akid: format_timestamp(self.now)})
        return "deactivated"

    def _delete_key(self, action: Action) -> str:
        name, akid = action.user_name, self._key_id(action)
        self._refuse_current_key(name, akid)
        deleted = self.aws.iam.delete_access_key(name, akid)
        records = [CURRENT_SINCE_TAG_PREFIX + akid, DEACTIVATED_AT_TAG_PREFIX + akid]
        user = self.snapshot.find(name)
        if (
            user is not None
            and PENDING_KEY_TAG in user.tags
            and any(k.access_key_id == akid for k in classify_keys(user).unstored)
        ):
            records.append(PENDING_KEY_TAG)  # an orphan: its intent is settled with it
        self.aws.iam.untag_user(name, records)
        return "deleted" if deleted else "already gone"

    # Deleting users ---------------------------------------------------------------------------------------

    def _delete_user(self, action: Action) -> str:
        iam, name = self.aws.iam, action.user_name
        # Re-read right before deleting: the snapshot may be minutes old, and a user that is not ours
        # (moved out of the path, tag changed) must never be deleted.
        current = iam.get_user(name)
        if current is None:
            return "already gone"
        if not is_managed(current, self.settings):
            raise ActionFailed("refused: the user is no longer managed by this stack (re-checked before deletion)")
        # RemoveUserFromGroup names no member, so the role may empty only the stack's group and those under
        # removable_group_path; a membership elsewhere (an admin group, a deny group) is for a person to end.
        kept = sorted(g["GroupName"] for g in iam.groups_of(name) if not may_leave_group(g, self.settings))
        if kept:
            raise ActionFailed(
                f"refused: the user is also in {', '.join(kept)}, which this stack may not remove members from; "
                "remove it from them by hand and the next cleanup deletes it (nothing was changed)"
            )
        if DELETING_TAG not in current.tags:
            # Write-ahead: a deletion cut short after the keys are gone is finished by the next cleanup, and
            # no other function gives the half-deleted user a new key in between.
            iam.tag_user(name, {DELETING_TAG: format_timestamp(self.now)})
        # The secret goes into its recovery window while the user still exists: a run cut short right after
        # DeleteUser would otherwise leave a secret that no later run can attribute to a user.
        secret_name, days = self._secret_name(name), self.settings.secret_recovery_days

        def schedule_secret() -> None:
            if self.aws.secrets.schedule_deletion(secret_name, days):
                self.secrets_scheduled.add(name.lower())

        removed = iam.delete_user_with_credentials(name, before_delete=schedule_secret)
        if not removed.get("user"):
            return "already gone"
        parts = [f"{count} {what}" + ("s" if count > 1 else "") for what, count in removed.items() if what != "user"]
        return "deleted" + (" with " + ", ".join(parts) if parts else "")

    def _delete_secret(self, action: Action) -> str:
        days = self.settings.secret_recovery_days
        if action.user_name.lower() in self.secrets_scheduled or self.aws.secrets.schedule_deletion(
            self._secret_name(action.user_name), days
        ):
            return f"scheduled for deletion; recoverable for {days} days"
        return "already scheduled for deletion or gone"

    # Rollback ---------------------------------------------------------------------------------------------

    def _roll_back(self, failed: Action, steps: list[_Undo], out: RunOutcome) -> None:
        name, cause = failed.user_name, f"{failed.action} failed ({failed.detail})"
        problems = [f"{step.what} ({_safe_detail(exc)})" for step in reversed(steps) if (exc := _run(step))]
        for action in out.actions:
            if action.user_name == name and action.action is ActionKind.CREATE_USER:
                action.status = ActionStatus.FAILED
                if action is failed:
                    action.detail = f"{failed.detail}; rolled back"
                else:
                    action.detail = f"rolled back: {failed.action} failed"
        out.user_arns.pop(name, None)
        out.expires_at.pop(name, None)
        outcome = out.keys.get(name)
        if outcome is not None:
            out.keys[name] = KeyOutcome(outcome.access_key_id, None, "failed")
        if problems:
            out.errors.append(f"user {name}: {cause}; rollback incomplete, left over: " + ", ".join(problems))
        else:
            out.errors.append(f"user {name}: {cause}; everything this call created was removed")


def _discard_secret(secrets: SecretsGateway, name: str, recovery_days: int) -> None:
    state = secrets.state(name)
    if state is None or state.deleted_date is not None:
        return
    secrets.schedule_deletion(name, recovery_days)  # recoverable, like every deletion the stack makes


def name_budget_left(out: RunOutcome) -> None:
    """Word the run's one time_budget_exhausted warning with every user left (call again after merging outcomes)."""
    if not out.budget_left:
        return
    left = ", ".join(out.budget_left[:20]) + (" ..." if len(out.budget_left) > 20 else "")
    for warning in out.warnings:
        if warning.code == WarningCode.TIME_BUDGET_EXHAUSTED:
            warning.message = (
                f"the run stopped near its Lambda time limit; {len(out.budget_left)} users were not started "
                f"({left}) and the next run continues with them"
            )


def _report_skip(user_name: str, skip: Skip, out: RunOutcome) -> None:
    if skip.code == WarningCode.TIME_BUDGET_EXHAUSTED:
        if not any(w.code == skip.code for w in out.warnings):
            out.warnings.append(Warning(user_name=None, code=skip.code, message=skip.message))
        out.budget_left.append(user_name)
        return
    out.warnings.append(Warning(user_name=user_name, code=skip.code, message=skip.message))


def _run(step: _Undo) -> Exception | None:
    try:
        step.step()
    except Exception as exc:
        log.warning("rollback step failed", extra={"step": step.what, "error": _safe_detail(exc)})
        return exc
    return None


def _attempt(step: Callable[[], object]) -> bool:
    return _run(_Undo("attempt", step)) is None


def _safe_detail(exc: Exception) -> str:
    """Report text for an exception: our own messages are safe; anything else is named by type only."""
    if isinstance(exc, ActionFailed | AwsError | MalformedSecret | UnsafeSecret):
        return str(exc)
    log.error("unexpected error while applying an action", exc_info=exc)
    return f"unexpected error: {type(exc).__name__}"
