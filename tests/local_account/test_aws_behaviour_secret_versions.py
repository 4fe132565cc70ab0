"""Secrets Manager versions as the API reference states them: deprecated versions, the version quota, writes to a
secret scheduled for deletion, idempotent puts. Each test is a row of docs/aws-behaviour.md."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError

from tests.local_account.emulator_helpers import REGION, error_code

OLD, NEW, OTHER = "a" * 32, "b" * 32, "c" * 32


@pytest.fixture
def sm(aws: None) -> Any:
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="temporary-iam-users/alice")
    client.put_secret_value(SecretId="temporary-iam-users/alice", ClientRequestToken=OLD, SecretString="old")
    return client


def _stages(sm: Any) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId="temporary-iam-users/alice")["VersionIdsToStages"])


def _promote(sm: Any) -> None:
    sm.put_secret_value(
        SecretId="temporary-iam-users/alice", ClientRequestToken=NEW, SecretString="new", VersionStages=["AWSPENDING"]
    )
    sm.update_secret_version_stage(
        SecretId="temporary-iam-users/alice", VersionStage="AWSCURRENT", MoveToVersionId=NEW, RemoveFromVersionId=OLD
    )


def test_a_label_less_version_is_deprecated_hidden_unless_asked_for(sm) -> None:
    # Given a version that lost its last label (AWSPREVIOUS moved on by a second rotation)
    _promote(sm)
    sm.put_secret_value(SecretId="temporary-iam-users/alice", ClientRequestToken=OTHER, SecretString="other")
    # When the versions are listed and described
    listed = sm.list_secret_version_ids(SecretId="temporary-iam-users/alice")["Versions"]
    with_deprecated = sm.list_secret_version_ids(SecretId="temporary-iam-users/alice", IncludeDeprecated=True)
    # Then "By default, versions without staging labels aren't included" (ListSecretVersionIds), and DescribeSecret's
    # VersionIdsToStages lists "the versions of the secret that have staging labels attached"
    assert sorted(v["VersionId"] for v in listed) == [NEW, OTHER]
    assert sorted(v["VersionId"] for v in with_deprecated["Versions"]) == [OLD, NEW, OTHER]
    assert OLD not in _stages(sm)


def test_deprecated_versions_are_removed_past_100_once_a_day_old(sm) -> None:
    # Given 105 values put as AWSPENDING over two days (each leaves the previous one label-less)
    with time_machine.travel(0, tick=False) as clock:
        for n in range(105):
            if n == 50:
                clock.shift(timedelta(hours=25))
            sm.put_secret_value(
                SecretId="temporary-iam-users/alice",
                ClientRequestToken=f"{n:032d}",
                SecretString=str(n),
                VersionStages=["AWSPENDING"],
            )
        listed = sm.list_secret_version_ids(SecretId="temporary-iam-users/alice", IncludeDeprecated=True)
    versions = {v["VersionId"] for v in listed["Versions"]}
    # Then "Secrets Manager removes unlabeled versions when there are more than 100, but it does not remove versions
    # created less than 24 hours ago" (quotas): the oldest label-less ones went, labelled ones stayed
    assert len(versions) == 100
    assert {OLD, f"{104:032d}"} <= versions
    assert not {f"{n:032d}" for n in range(5)} & versions


def test_a_secret_scheduled_for_deletion_cannot_be_read_or_written(sm) -> None:
    sm.delete_secret(SecretId="temporary-iam-users/alice", RecoveryWindowInDays=7)
    # When read or given a new value / Then InvalidRequestException ("marked for deletion")
    with pytest.raises(ClientError) as read:
        sm.get_secret_value(SecretId="temporary-iam-users/alice")
    with pytest.raises(ClientError) as written:
        sm.put_secret_value(SecretId="temporary-iam-users/alice", ClientRequestToken=NEW, SecretString="new")
    assert (error_code(read), error_code(written)) == ("InvalidRequestException", "InvalidRequestException")


def test_a_put_retried_with_its_token_is_idempotent_and_another_value_is_refused(sm) -> None:
    # Given a version put with a ClientRequestToken (the functions use the version id, so a retried run repeats it)
    sm.put_secret_value(
        SecretId="temporary-iam-users/alice", ClientRequestToken=NEW, SecretString="new", VersionStages=["AWSPENDING"]
    )
    # When the same put is retried / Then it succeeds without a new version ("This operation is idempotent")
    again = sm.put_secret_value(
        SecretId="temporary-iam-users/alice", ClientRequestToken=NEW, SecretString="new", VersionStages=["AWSPENDING"]
    )
    assert again["VersionId"] == NEW
    assert _stages(sm) == {OLD: ["AWSCURRENT"], NEW: ["AWSPENDING"]}
    # And the same token with another value is ResourceExistsException
    with pytest.raises(ClientError) as refused:
        sm.put_secret_value(SecretId="temporary-iam-users/alice", ClientRequestToken=NEW, SecretString="other")
    assert error_code(refused) == "ResourceExistsException"


def test_removing_a_label_from_a_version_that_does_not_hold_it_is_invalid(sm) -> None:
    with pytest.raises(ClientError) as refused:
        sm.update_secret_version_stage(
            SecretId="temporary-iam-users/alice", VersionStage="AWSPENDING", RemoveFromVersionId=OLD
        )
    assert error_code(refused) == "InvalidParameterException"
