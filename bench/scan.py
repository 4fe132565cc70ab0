"""The per-user scan: the way to read the account the bulk reads replaced, kept only for the benchmark's side-by-side
comparison (`make bench`, mode "scan"). ListUsers, then GetUser for every user in the managed path (tags and
boundary in one call), then ListAccessKeys and GetAccessKeyLastUsed for every managed user: always fresh, one to
four calls a user."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from unittest import mock

from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.errors import AwsError, call, paginate
from key_lifecycle.gateways.iam import BULK_PAGE_SIZE, user_state
from key_lifecycle.gateways.snapshot import read_keys
from key_lifecycle.models.managed import in_managed_path, is_managed
from key_lifecycle.models.report import Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, SecretState, UserState
from key_lifecycle.service import runs
from key_lifecycle.service.confirm import Decided


def _get_user(client: Any, user_name: str) -> dict[str, Any]:
    try:
        found: dict[str, Any] = call(client, "GetUser", UserName=user_name)["User"]
    except AwsError as exc:
        if exc.gone:
            return {}
        raise
    return found


def list_users(client: Any) -> Iterator[dict[str, Any]]:
    """Every user without tags or boundary, 1,000 a call."""
    return paginate(client, "ListUsers", "Users", PathPrefix="/", PaginationConfig={"PageSize": BULK_PAGE_SIZE})


def read_scan_snapshot(aws: Aws, settings: Settings, *, with_last_used: bool = True) -> AccountSnapshot:
    client = aws.client("iam")
    prefix = settings.secret_prefix
    users: list[UserState] = []
    secrets: dict[str, SecretState] | None = None
    for listed in list_users(client):
        user = user_state(listed, {})
        if in_managed_path(user, settings):
            # ListUsers returns neither tags nor the boundary; GetUser returns both in one call.
            found = _get_user(client, user.user_name)
            user = user_state({**listed, **found}, {t["Key"]: t["Value"] for t in found.get("Tags", [])})
        if is_managed(user, settings):
            if secrets is None:
                secrets = {secret.name: secret for secret in aws.secrets.list_secrets(prefix)}
            confirmed = read_keys(aws, user, with_last_used=with_last_used)
            user = confirmed.model_copy(update={"secret": secrets.get(prefix + user.user_name)})
        users.append(user)
    return AccountSnapshot(users=tuple(users))


def plan_scanned(
    aws: Aws,
    settings: Settings,
    now: datetime,
    planner: Callable[[AccountSnapshot], Plan],
    *,
    with_last_used: bool = True,
    **_: Any,
) -> Decided:
    snapshot = read_scan_snapshot(aws, settings, with_last_used=with_last_used)
    return Decided(snapshot, planner(snapshot), ())


@contextlib.contextmanager
def scan_mode() -> Iterator[None]:
    """Scheduled runs over every user read the account by the per-user scan instead of the bulk reads."""
    with mock.patch.object(runs, "plan_confirmed", plan_scanned):
        yield
