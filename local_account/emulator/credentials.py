"""Access keys as AWS authenticates them: an inactive key signs nothing (InvalidClientTokenId), a request it
signed is not recorded as the key's last use, a use shows in GetAccessKeyLastUsed and the credential report only
after a recording delay, and temporary credentials stop working when they expire (ExpiredToken), on the virtual
clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from moto.core.exceptions import _RESTError
from moto.core.utils import utcnow
from moto.iam import access_control
from moto.iam import models as iam_models
from moto.sts.models import AssumedRole, sts_backends
from moto.utilities.utils import get_partition

from local_account.emulator.fidelity import active

_original_create_access_key = access_control.create_access_key
_original_mark_account_as_visited = iam_models.mark_account_as_visited


class ExpiredTokenError(_RESTError):
    """What AWS answers to a request signed with temporary credentials past their expiration."""

    code = 403

    def __init__(self) -> None:
        super().__init__("ExpiredToken", "The security token included in the request is expired")


def _is_inactive(account_id: str, partition: str, access_key_id: str) -> bool:
    key = iam_models.iam_backends[account_id][partition].access_keys.get(access_key_id)
    return key is not None and key.status != "Active"


# Assumed-role sessions by access key id, per STS backend: moto keeps them in a list that grows with every
# AssumeRole (one per Lambda cold start here) and searches it on every request.
_sessions: dict[int, tuple[int, dict[str, AssumedRole]]] = {}


def assumed_role(account_id: str, partition: str, access_key_id: str) -> AssumedRole | None:
    """The AssumeRole session an access key id belongs to, if any."""
    roles = sts_backends[account_id][partition].assumed_roles
    seen, index = _sessions.get(id(roles), (-1, {}))
    if seen != len(roles):
        index = {role.access_key_id: role for role in roles}
        _sessions[id(roles)] = (len(roles), index)
    return index.get(access_key_id)


def _is_expired(account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> bool:
    if "X-Amz-Security-Token" not in headers:
        return False
    session = assumed_role(account_id, partition, access_key_id)
    return session is not None and session.expiration <= utcnow()


def _create_access_key(account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> Any:
    if active():
        if _is_inactive(account_id, partition, access_key_id):
            raise access_control.CreateAccessKeyFailure(reason="InvalidId")
        if _is_expired(account_id, partition, access_key_id, headers):
            raise ExpiredTokenError()
    return _original_create_access_key(account_id, partition, access_key_id, headers)


def _mark_account_as_visited(account_id: str, access_key: str, service: str, region: str) -> None:
    if active() and _is_inactive(account_id, get_partition(region), access_key):
        return
    _original_mark_account_as_visited(account_id, access_key, service, region)


# AWS does not record a key's use the moment it happens: GetAccessKeyLastUsed and the credential report show it
# some time later (AWS documents no bound; a few hours is what operators see). The local account models that
# delay so that no rule of the engine can depend on seeing a use at once. `LocalAccount(last_use_delay=...)` sets it.
DEFAULT_LAST_USE_DELAY = timedelta(hours=4)
last_use_delay = DEFAULT_LAST_USE_DELAY


def _recorded_last_use(key: iam_models.AccessKey) -> iam_models.AccessKeyLastUsed | None:
    uses: list[iam_models.AccessKeyLastUsed] = key.__dict__.get("_uses", [])
    if not uses:
        return None
    if not active():
        return uses[-1]
    visible_until = utcnow() - last_use_delay
    return next((use for use in reversed(uses) if use.timestamp <= visible_until), None)


def _record_use(key: iam_models.AccessKey, use: iam_models.AccessKeyLastUsed | None) -> None:
    uses = key.__dict__.setdefault("_uses", [])
    if use is None:
        uses.clear()
        return
    # Only what can still become visible matters: the newest use older than the delay, and everything after it.
    visible_until = use.timestamp - last_use_delay
    while len(uses) > 1 and uses[1].timestamp <= visible_until:
        uses.pop(0)
    uses.append(use)


def install() -> None:
    access_control.create_access_key = _create_access_key
    iam_models.mark_account_as_visited = _mark_account_as_visited
    iam_models.AccessKey.last_used = property(_recorded_last_use, _record_use)  # type: ignore[assignment]
