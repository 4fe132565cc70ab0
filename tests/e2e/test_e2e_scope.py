"""Least privilege as deployed: nothing outside the managed scope is ever changed, and each function's own
role is refused what it has no business doing (judged by the local account's IAM enforcement)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import OUT_OF_SCOPE, ROTATED, Year, out_of_scope_state

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def test_users_outside_the_managed_scope_are_never_changed(year: Year) -> None:
    # Given an admin outside the path, an in-path user without the tag and another deployment's user,
    # each with a key older than every age limit by the end of the year
    assert out_of_scope_state(year.account) == year.out_of_scope_before
    named = {a["user_name"] for i in year.account.invocations for a in (i.result or {}).get("actions", [])}
    assert named.isdisjoint(OUT_OF_SCOPE)


def test_an_in_path_user_without_the_tag_is_reported_not_touched(year: Year) -> None:
    warned = {
        (w["user_name"], w["code"])
        for i in year.scheduled
        for w in i.result["warnings"]
        if w["user_name"] in OUT_OF_SCOPE
    }
    assert ("in-path-untagged", "unmanaged_in_path") in warned
    # The admin is outside the path: never taken for a managed user (the posture audit may still report it)
    assert ("ops-admin", "unmanaged_in_path") not in warned


def _denied(call: Callable[[], Any]) -> str:
    with pytest.raises(ClientError) as denied:
        call()
    return str(denied.value.response["Error"]["Code"])


OUT_OF_SCOPE_ACTIONS: dict[str, tuple[str, str, Callable[[Any], Any], str]] = {
    "rotate: create a key for a user outside the path": (
        "rotate_keys",
        "iam",
        lambda c: c.create_access_key(UserName="ops-admin"),
        "AccessDenied",
    ),
    "rotate: delete a managed user": ("rotate_keys", "iam", lambda c: c.delete_user(UserName=ROTATED), "AccessDenied"),
    "cleanup: delete a user outside the path": (
        "cleanup_users",
        "iam",
        lambda c: c.delete_user(UserName="ops-admin"),
        "AccessDenied",
    ),
    "cleanup: create a key": (
        "cleanup_users",
        "iam",
        lambda c: c.create_access_key(UserName=ROTATED),
        "AccessDenied",
    ),
    "create: read a secret outside the prefix": (
        "create_keys",
        "secretsmanager",
        lambda c: c.get_secret_value(SecretId="database/password"),
        "AccessDeniedException",
    ),
    "create: create a user outside the path": (
        "create_keys",
        "iam",
        lambda c: c.create_user(UserName="intruder", Path="/admin/"),
        "AccessDenied",
    ),
}


@pytest.mark.parametrize("case", list(OUT_OF_SCOPE_ACTIONS))
def test_each_functions_role_is_denied_out_of_scope_actions(year: Year, case: str) -> None:
    function, service, call, code = OUT_OF_SCOPE_ACTIONS[case]
    account = year.account
    secrets = account.admin_client("secretsmanager")
    with contextlib.suppress(ClientError):  # created by an earlier case
        secrets.create_secret(Name="database/password", SecretString=json.dumps({"password": "not-yours"}))
    # Given the function's own role credentials (as Lambda gets them); when it tries an out-of-scope action
    client = account.client(service, credentials=account.role_credentials(function))
    # Then IAM refuses it
    assert _denied(lambda: call(client)) == code
