"""Secrets Manager as AWS documents it, for every call and answer the functions and their consumers rely on.
Each test is one row of docs/aws-behaviour.md."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.local_account.emulator_helpers import REGION, error_code

NAME = "temporary-iam-users/alice"


@pytest.fixture
def sm(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


def _value(key: str) -> str:
    return json.dumps({"access_key_id": key, "secret_access_key": "not-a-real-secret"})


def _put_pending(sm: Any, version_id: str, access_key_id: str) -> None:
    """A key stored as the functions store it: a version named by the key, put as AWSPENDING."""
    sm.put_secret_value(
        SecretId=NAME, ClientRequestToken=version_id, SecretString=_value(access_key_id), VersionStages=["AWSPENDING"]
    )


def _stages(sm: Any) -> dict[str, list[str]]:
    return dict(sm.describe_secret(SecretId=NAME).get("VersionIdsToStages", {}))


@pytest.fixture
def rotated(sm: Any) -> dict[str, str]:
    """A secret made as create_keys makes it (no value, then a pending version), rotated once as rotate_keys
    does (a second pending version, AWSCURRENT moved to it, AWSPENDING dropped)."""
    sm.create_secret(Name=NAME)
    _put_pending(sm, "AKIAOLD-000000000000000000000001", "AKIAOLD")
    sm.update_secret_version_stage(
        SecretId=NAME, VersionStage="AWSPENDING", RemoveFromVersionId="AKIAOLD-000000000000000000000001"
    )
    _put_pending(sm, "AKIANEW-000000000000000000000002", "AKIANEW")
    sm.update_secret_version_stage(
        SecretId=NAME,
        VersionStage="AWSCURRENT",
        MoveToVersionId="AKIANEW-000000000000000000000002",
        RemoveFromVersionId="AKIAOLD-000000000000000000000001",
    )
    sm.update_secret_version_stage(
        SecretId=NAME, VersionStage="AWSPENDING", RemoveFromVersionId="AKIANEW-000000000000000000000002"
    )
    return {"old": "AKIAOLD-000000000000000000000001", "new": "AKIANEW-000000000000000000000002"}


def test_get_secret_value_without_stage_or_version_returns_awscurrent_after_a_rotation(sm, rotated) -> None:
    # AWS: "If you don't specify either a VersionStage or VersionId, then Secrets Manager returns the AWSCURRENT
    # version." (moto answered its own default version, which UpdateSecretVersionStage does not move.)
    value = sm.get_secret_value(SecretId=NAME)
    assert value["VersionId"] == rotated["new"]
    assert json.loads(value["SecretString"])["access_key_id"] == "AKIANEW"
    assert "AWSCURRENT" in value["VersionStages"]


def test_the_first_version_of_a_secret_is_awscurrent_even_when_put_as_pending(sm) -> None:
    # AWS (PutSecretValue): "If this operation creates the first version for the secret, then Secrets Manager
    # automatically attaches the staging label AWSCURRENT to it."
    sm.create_secret(Name=NAME)
    _put_pending(sm, "AKIAFIRST-0000000000000000000001", "AKIAFIRST")
    assert sorted(_stages(sm)["AKIAFIRST-0000000000000000000001"]) == ["AWSCURRENT", "AWSPENDING"]


def test_a_pending_version_leaves_the_current_one_current(sm, rotated) -> None:
    # AWS: a version put with VersionStages gets those labels only; AWSCURRENT stays where it is.
    _put_pending(sm, "AKIANEXT-00000000000000000000003", "AKIANEXT")
    stages = _stages(sm)
    assert stages["AKIANEXT-00000000000000000000003"] == ["AWSPENDING"]
    assert "AWSCURRENT" in stages[rotated["new"]]
    assert sm.get_secret_value(SecretId=NAME)["VersionId"] == rotated["new"]


def test_moving_awscurrent_labels_the_old_holder_awsprevious(sm, rotated) -> None:
    # AWS (UpdateSecretVersionStage): moving AWSCURRENT makes Secrets Manager move AWSPREVIOUS to the version
    # AWSCURRENT was removed from.
    stages = _stages(sm)
    assert stages[rotated["new"]] == ["AWSCURRENT"]
    assert stages[rotated["old"]] == ["AWSPREVIOUS"]
    assert sm.get_secret_value(SecretId=NAME, VersionStage="AWSPREVIOUS")["VersionId"] == rotated["old"]


def test_moving_awscurrent_without_naming_its_holder_is_refused(sm, rotated) -> None:
    # AWS: RemoveFromVersionId is required when the label is attached to another version.
    _put_pending(sm, "AKIANEXT-00000000000000000000003", "AKIANEXT")
    with pytest.raises(ClientError) as refused:
        sm.update_secret_version_stage(
            SecretId=NAME, VersionStage="AWSCURRENT", MoveToVersionId="AKIANEXT-00000000000000000000003"
        )
    assert error_code(refused) == "InvalidParameterException"
    assert sm.get_secret_value(SecretId=NAME)["VersionId"] == rotated["new"]


def test_a_version_without_labels_is_deprecated_and_still_readable_by_id(sm, rotated) -> None:
    # AWS: a version without staging labels is deprecated ("Secrets Manager can delete" it, beyond ~100 versions
    # and once older than 24 hours); it is left out of DescribeSecret's VersionIdsToStages and is read only by id.
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="AWSPREVIOUS", RemoveFromVersionId=rotated["old"])
    assert rotated["old"] not in _stages(sm)
    value = sm.get_secret_value(SecretId=NAME, VersionId=rotated["old"])
    assert json.loads(value["SecretString"])["access_key_id"] == "AKIAOLD"


def test_list_secrets_leaves_out_secrets_scheduled_for_deletion_unless_asked(sm, rotated) -> None:
    # AWS (ListSecrets): IncludePlannedDeletion "Specifies whether to include secrets scheduled for deletion. By
    # default, secrets scheduled for deletion aren't included."
    sm.delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    names = [s["Name"] for s in sm.list_secrets()["SecretList"]]
    assert NAME not in names
    listed = sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    [secret] = [s for s in listed if s["Name"] == NAME]
    assert "DeletedDate" in secret
    assert secret["SecretVersionsToStages"][rotated["new"]] == ["AWSCURRENT"]


def test_a_secret_scheduled_for_deletion_cannot_be_read_deleted_again_or_recreated(sm, rotated) -> None:
    # AWS: operations on a secret marked for deletion fail with InvalidRequestException ("You can't perform this
    # operation on the secret because it was marked for deletion"); CreateSecret of its name too.
    sm.delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    for call in (
        lambda: sm.get_secret_value(SecretId=NAME),
        lambda: sm.delete_secret(SecretId=NAME, RecoveryWindowInDays=7),
        lambda: sm.create_secret(Name=NAME, SecretString=_value("AKIAAGAIN")),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        assert error_code(refused) == "InvalidRequestException"


def test_restore_secret_makes_it_readable_again_with_its_versions(sm, rotated) -> None:
    # AWS (RestoreSecret): "Cancels the scheduled deletion of a secret by removing the DeletedDate time stamp. You
    # can access a secret again after it has been restored."
    sm.delete_secret(SecretId=NAME, RecoveryWindowInDays=7)
    sm.restore_secret(SecretId=NAME)
    assert "DeletedDate" not in sm.describe_secret(SecretId=NAME)
    assert sm.get_secret_value(SecretId=NAME)["VersionId"] == rotated["new"]


def test_describe_secret_of_a_missing_secret_is_resource_not_found(sm) -> None:
    with pytest.raises(ClientError) as missing:
        sm.describe_secret(SecretId="temporary-iam-users/nobody")
    assert error_code(missing) == "ResourceNotFoundException"
