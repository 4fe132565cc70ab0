"""The escalation paths the function roles' conditions close, tried with real calls under each deployed role and
refused by the local account's IAM enforcement (which judges conditions and boundaries as AWS does). The same
paths are proven on the template by tests/reliability/test_reliability_escalation.py."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import MANAGED_PATH, ROTATED, Year

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SUB_PATH_USER = "sub-path-admin"
FOREIGN_GROUP = "administrators"

CASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # 1. takeover of a user the stack does not manage: marking another deployment's user as ours
    "create: mark another deployment's user as managed and half-made": (
        "create_keys",
        lambda iam: iam.tag_user(
            UserName="other-deployment",
            Tags=[{"Key": "managed-by", "Value": "iam-key-lifecycle"}, {"Key": "provisioning", "Value": "true"}],
        ),
    ),
    # 1. no role acts on sub-paths of the managed path, even on a user tagged as managed
    "create: make a key for a user on a sub-path": (
        "create_keys",
        lambda iam: iam.create_access_key(UserName=SUB_PATH_USER),
    ),
    "rotate: make a key for a user on a sub-path": (
        "rotate_keys",
        lambda iam: iam.create_access_key(UserName=SUB_PATH_USER),
    ),
    # 3. cleanup takes users out of the stack's group and the removable path only
    "cleanup: take a user out of a group outside the removable path": (
        "cleanup_users",
        lambda iam: iam.remove_user_from_group(GroupName=FOREIGN_GROUP, UserName="ops-admin"),
    ),
    # 5. the create role cannot re-mark a finished user as half-made, delete it, or rewrite its expiry or owner
    "create: re-mark a finished managed user as half-made": (
        "create_keys",
        lambda iam: iam.tag_user(UserName=ROTATED, Tags=[{"Key": "provisioning", "Value": "true"}]),
    ),
    "create: delete a finished managed user": ("create_keys", lambda iam: iam.delete_user(UserName=ROTATED)),
    "create: push a managed user's expiry out": (
        "create_keys",
        lambda iam: iam.tag_user(UserName=ROTATED, Tags=[{"Key": "expires-at", "Value": "2099-01-01T00:00:00Z"}]),
    ),
    "create: redirect a managed user's notices": (
        "create_keys",
        lambda iam: iam.tag_user(UserName=ROTATED, Tags=[{"Key": "owner", "Value": "attacker@example.com"}]),
    ),
}


@pytest.fixture(scope="module")
def targets(year: Year) -> Year:
    """After the year: a user tagged as managed on a sub-path, and an administrators group holding ops-admin."""
    iam = year.account.admin_client("iam")
    with contextlib.suppress(ClientError):
        iam.create_user(
            UserName=SUB_PATH_USER,
            Path=f"{MANAGED_PATH}admins/",
            Tags=[{"Key": "managed-by", "Value": "iam-key-lifecycle"}],
        )
    with contextlib.suppress(ClientError):
        iam.create_group(GroupName=FOREIGN_GROUP)
        iam.add_user_to_group(GroupName=FOREIGN_GROUP, UserName="ops-admin")
    return year


@pytest.mark.parametrize("case", list(CASES))
def test_each_escalation_is_refused_by_iam_on_a_real_call(targets: Year, case: str) -> None:
    function, call = CASES[case]
    account = targets.account
    admin = account.admin_client("iam")
    before = {
        name: (admin.get_user(UserName=name)["User"].get("Tags", []), admin.list_access_keys(UserName=name))
        for name in (ROTATED, "other-deployment", SUB_PATH_USER)
    }
    # Given the function's own role credentials (as Lambda gets them); when it tries the escalation
    client = account.client("iam", credentials=account.role_credentials(function))
    with pytest.raises(ClientError) as denied:
        call(client)
    # Then IAM refuses it, and nothing changed
    assert denied.value.response["Error"]["Code"] == "AccessDenied"
    after = {
        name: (admin.get_user(UserName=name)["User"].get("Tags", []), admin.list_access_keys(UserName=name))
        for name in before
    }
    assert [(tags, keys["AccessKeyMetadata"]) for tags, keys in after.values()] == [
        (tags, keys["AccessKeyMetadata"]) for tags, keys in before.values()
    ]
    assert FOREIGN_GROUP in {g["GroupName"] for g in admin.list_groups_for_user(UserName="ops-admin")["Groups"]}
