"""Cleanup deletes a managed user at expiry, and a stale one (keys unused for 90 days), with every kind
of credential each holds, then schedules its secret for deletion."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from .conftest import FORGOTTEN, SHORT_LIVED, Year

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def _last_day_present(year: Year, user: str) -> int:
    return max(day for day in year.days if user in year.days[day])


def _deletions(year: Year, user: str) -> list[dict[str, Any]]:
    return [
        a
        for i in year.scheduled
        if i.function == "cleanup_users"
        for a in i.result["actions"]
        if a["user_name"] == user and a["action"] == "delete_user"
    ]


def _assert_gone_with_everything(year: Year, user: str) -> None:
    iam = year.account.admin_client("iam")
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName=user)
    assert gone.value.response["Error"]["Code"] == "NoSuchEntity"
    # Its virtual MFA device, group membership and policy attachment went with it; the group and policy stay
    devices = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    assert not [d for d in devices if d["SerialNumber"].endswith(f"/{user}-mfa")]
    assert iam.get_group(GroupName=f"{user}-team")["Users"] == []
    policy = iam.get_policy(PolicyArn=f"arn:aws:iam::123456789012:policy/{user}-extra")["Policy"]
    assert policy["AttachmentCount"] == 0
    # And its secret is scheduled for deletion (or already gone after its recovery window)
    secrets = year.account.admin_client("secretsmanager")
    try:
        described = secrets.describe_secret(SecretId=f"temporary-iam-users/{user}")
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
    else:
        assert "DeletedDate" in described


def test_an_expired_user_is_deleted_on_the_day_it_expires(year: Year) -> None:
    # Given a 10-day user holding every credential kind; it expires at 00:00 on day 10, cleanup runs at 06:00
    assert _last_day_present(year, SHORT_LIVED) == 10
    deletions = _deletions(year, SHORT_LIVED)
    assert [(a["status"], "expire" in a["reason"]) for a in deletions] == [("done", True)]
    _assert_gone_with_everything(year, SHORT_LIVED)


def test_a_stale_user_is_deleted_when_its_keys_were_unused_for_90_days(year: Year) -> None:
    # Given a user with a year to live whose key is never used, then it is deleted after 90 days
    last_day = _last_day_present(year, FORGOTTEN)
    assert 90 <= last_day <= 92
    deletions = _deletions(year, FORGOTTEN)
    assert [a["status"] for a in deletions] == ["done"]
    assert "expire" not in deletions[0]["reason"]
    _assert_gone_with_everything(year, FORGOTTEN)
