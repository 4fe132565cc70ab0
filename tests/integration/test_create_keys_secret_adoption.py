"""A secret found under a new user's name is written to only if it is one the stack itself would have created:
encrypted with the stack's key, no resource policy, no rotation, no replicas. Otherwise someone with Secrets Manager
rights alone could prepare it (the AWS managed key aws/secretsmanager is usable by every principal of the account
through Secrets Manager; a resource policy may name another account) and read every key the stack stores there."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.support.moto_account import PREFIX, Account, wire_functions


@pytest.fixture
def stack_key(account: Account, monkeypatch: pytest.MonkeyPatch) -> str:
    """The functions configured with the stack's customer managed key, as the deployed stack configures them."""
    key_arn: str = boto3.client("kms").create_key(Description="stack secrets key")["KeyMetadata"]["Arn"]
    wire_functions(monkeypatch, account, env={"SECRET_KMS_KEY_ID": key_arn})
    return key_arn


def _everything_in(account: Account, name: str) -> dict[str, Any]:
    secret = account.sm.describe_secret(SecretId=PREFIX + name)
    return {"versions": secret.get("VersionIdsToStages", {}), "deleted": "DeletedDate" in secret}


def _refused(account: Account, name: str, reason: str) -> None:
    report = account.create(name)
    assert report["verification"] == "failed"
    assert any(reason in error for error in report["errors"]), report["errors"]
    # Nothing was written into the prepared secret, and the user was rolled back
    assert _everything_in(account, name)["versions"] == {}
    assert account.user(name) is None
    assert account.all_secret_access_keys() == set()


def test_a_secret_prepared_under_the_aws_managed_key_is_refused(account: Account, stack_key: str) -> None:
    account.sm.create_secret(Name=PREFIX + "bob")
    _refused(account, "bob", "the AWS managed key aws/secretsmanager, not the stack's key")


def test_a_secret_prepared_under_another_key_is_refused(account: Account, stack_key: str) -> None:
    theirs = boto3.client("kms").create_key(Description="someone else's")["KeyMetadata"]["Arn"]
    account.sm.create_secret(Name=PREFIX + "bob", KmsKeyId=theirs)
    _refused(account, "bob", "not the stack's key")


def test_a_secret_with_a_resource_policy_is_refused(account: Account, stack_key: str) -> None:
    account.sm.create_secret(Name=PREFIX + "bob", KmsKeyId=stack_key)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
                "Action": "secretsmanager:GetSecretValue",
                "Resource": "*",
            }
        ],
    }
    account.sm.put_resource_policy(SecretId=PREFIX + "bob", ResourcePolicy=json.dumps(policy))
    _refused(account, "bob", "it has a resource policy")


def test_a_secret_the_stack_would_have_created_is_adopted(account: Account, stack_key: str) -> None:
    # Given a secret under the stack's key, without policy, rotation or replicas (a re-created user's)
    account.sm.create_secret(Name=PREFIX + "bob", KmsKeyId=stack_key)
    # When the user is created
    report = account.create("bob")
    # Then its key is stored there and verified
    assert report["verification"] == "verified", report["errors"]
    assert list(account.stages("bob").values()) == [["AWSCURRENT"]]
