"""The paging emulator's fast paths answer exactly what moto's own code answers: authorization details rendered
directly, secrets listed a page at a time, access keys found through an index."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.iam.responses import IamResponse

from local_account.emulator import paging
from tests.scale.scale_helpers import Calls

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})


def _details(iam: Any, **kwargs: Any) -> dict[str, Any]:
    pages = list(iam.get_paginator("get_account_authorization_details").paginate(**kwargs))
    merged: dict[str, list[Any]] = {}
    for page in pages:
        for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"):
            merged.setdefault(key, []).extend(page.get(key, []))
    return merged


def test_authorization_details_rendered_directly_parse_as_moto_renders_them(
    moto_account: Calls, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given users with every part a user detail can have: tags needing escaping, groups, inline and attached
    # policies; plus a role and a group, so pages mix kinds
    iam = boto3.client("iam")
    iam.create_group(GroupName="developers")
    iam.create_group(GroupName="a&b")
    arn = iam.create_policy(PolicyName="local", PolicyDocument=POLICY)["Policy"]["Arn"]
    iam.create_role(RoleName="role", AssumeRolePolicyDocument=POLICY)
    iam.create_user(
        UserName="alice", Path="/temporary/", Tags=[{"Key": "k", "Value": "<&>\"'"}, {"Key": "e", "Value": ""}]
    )
    for group in ("developers", "a&b"):
        iam.add_user_to_group(GroupName=group, UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="inline", PolicyDocument=POLICY)
    iam.attach_user_policy(UserName="alice", PolicyArn=arn)
    for index in range(5):
        iam.create_user(UserName=f"user-{index}")
    # When the details are read through the emulator, in small pages and whole
    fast = [_details(iam, PaginationConfig={"PageSize": 2}), _details(iam, Filter=["User"])]
    # And through moto's own serializer
    monkeypatch.setattr(IamResponse, "get_account_authorization_details", paging.moto_authorization_details)
    slow = [_details(iam), _details(iam, Filter=["User"])]
    # Then both say the same
    assert fast == slow
    alice = next(user for user in fast[0]["UserDetailList"] if user["UserName"] == "alice")
    assert alice["Tags"] == [{"Key": "k", "Value": "<&>\"'"}, {"Key": "e", "Value": ""}]
    assert alice["GroupList"] == ["developers", "a&b"]
    assert len(fast[0]["UserDetailList"]) == 6 and len(fast[0]["RoleDetailList"]) == 1


def test_secrets_are_listed_a_page_at_a_time_each_once(moto_account: Calls) -> None:
    # Given 230 secrets under a prefix, 5 others, and one under the prefix scheduled for deletion
    sm = boto3.client("secretsmanager")
    for index in range(230):
        sm.create_secret(Name=f"temporary/{index:03d}", SecretString="x")
    for index in range(5):
        sm.create_secret(Name=f"other/{index}", SecretString="x")
    sm.delete_secret(SecretId="temporary/007", RecoveryWindowInDays=7)
    paginator = sm.get_paginator("list_secrets")
    filters = [{"Key": "name", "Values": ["temporary/"]}]
    # When they are listed with the name filter, with and without the planned deletion
    pages = list(paginator.paginate(Filters=filters))
    with_deleted = [
        s["Name"] for p in paginator.paginate(Filters=filters, IncludePlannedDeletion=True) for s in p["SecretList"]
    ]
    # Then pages hold at most 100, and every matching secret comes once
    assert [len(p["SecretList"]) for p in pages] == [100, 100, 29]
    names = [s["Name"] for p in pages for s in p["SecretList"]]
    assert len(names) == len(set(names)) == 229 and "temporary/007" not in names
    assert sorted(with_deleted) == [f"temporary/{index:03d}" for index in range(230)]
    with pytest.raises(ClientError):
        sm.list_secrets(MaxResults=101)


def test_access_keys_are_found_after_every_change(moto_account: Calls) -> None:
    # Given a user whose key was looked up once
    iam = boto3.client("iam")
    iam.create_user(UserName="alice")
    first = iam.create_access_key(UserName="alice")["AccessKey"]
    assert iam.get_access_key_last_used(AccessKeyId=first["AccessKeyId"])["UserName"] == "alice"
    # When a second key is made, and the first one deleted
    second = iam.create_access_key(UserName="alice")["AccessKey"]
    iam.delete_access_key(UserName="alice", AccessKeyId=first["AccessKeyId"])
    # Then the new key is found, for IAM and for STS signed with it, and the deleted one is not
    assert iam.get_access_key_last_used(AccessKeyId=second["AccessKeyId"])["UserName"] == "alice"
    sts = boto3.client("sts", aws_access_key_id=second["AccessKeyId"], aws_secret_access_key=second["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(":user/alice")
    with pytest.raises(ClientError):
        iam.get_access_key_last_used(AccessKeyId=first["AccessKeyId"])


def test_the_emulator_is_installed_once() -> None:
    paging.install()
    installed = IamResponse.get_account_authorization_details
    paging.install()
    assert IamResponse.get_account_authorization_details is installed
