"""`make destroy` and a redeploy through the real CDK CLI in the local account: both stacks go, exactly what the
README says stays behind stays (the secrets key, the functions' log groups), and deploying again succeeds (no
retained resource collides by name)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from local_account import LocalAccount
from local_account.account import BASE_CONTEXT
from local_account.cdk import CdkCli
from local_account.public_parameters import publish_powertools_layer
from stacks.powertools import pinned_version

START = datetime(2026, 1, 5, tzinfo=UTC)
REGION = "eu-west-1"

pytestmark = [
    pytest.mark.xdist_group("local-account-deploy"),
    pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning"),
]


@pytest.fixture(autouse=True)
def _no_host_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _stacks(account: LocalAccount, region: str) -> set[str]:
    stacks = account.admin_client("cloudformation", region=region).describe_stacks()["Stacks"]
    return {s["StackName"] for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"} - {"CDKToolkit"}


def _physical_ids(account: LocalAccount, resource_type: str) -> dict[str, str]:
    """Logical id → physical id of the main stack's resources of one type."""
    pages = account.admin_client("cloudformation").get_paginator("list_stack_resources")
    return {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for page in pages.paginate(StackName="IamKeyLifecycle")
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == resource_type
    }


def test_destroy_removes_both_stacks_keeps_what_the_readme_says_and_a_redeploy_succeeds(tmp_path: Path) -> None:
    with LocalAccount.empty(start=START, region=REGION) as account:
        admin = account.admin_credentials
        cli = CdkCli(
            endpoint_url=account.endpoint_url,
            credentials=(admin["AccessKeyId"], admin["SecretAccessKey"]),
            region=REGION,
            output_dir=tmp_path / "cdk.out",
        )
        cli.bootstrap(account.account_id, REGION, "us-east-1")
        cli.synth(BASE_CONTEXT)
        publish_powertools_layer(account.account_id, REGION, pinned_version())
        # Given both stacks deployed
        cli.deploy()
        assert _stacks(account, REGION) == {"IamKeyLifecycle"}
        assert _stacks(account, "us-east-1") == {"IamKeyLifecycleIamEvents"}
        tables = _physical_ids(account, "AWS::DynamoDB::Table")
        log_groups = _physical_ids(account, "AWS::Logs::LogGroup")
        keys = _physical_ids(account, "AWS::KMS::Key")
        assert len(tables) == 1 and len(log_groups) == 4 and len(keys) == 4

        # When the operator runs `make destroy` (cdk destroy --all)
        cli.destroy()

        # Then both stacks are gone, and the lock table (no deletion protection) with them
        assert _stacks(account, REGION) == set() and _stacks(account, "us-east-1") == set()
        assert account.admin_client("dynamodb").list_tables()["TableNames"] == []
        # And the functions' log groups and the secrets key stay, the key still usable for the secrets it holds
        logs = account.admin_client("logs")
        kept = {g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]}
        assert set(log_groups.values()) <= kept
        [secrets_key] = [key for logical_id, key in keys.items() if logical_id.startswith("SecretsEncryptionKey")]
        assert account.admin_client("kms").describe_key(KeyId=secrets_key)["KeyMetadata"]["KeyState"] == "Enabled"

        # When the operator deploys again
        cli.deploy()
        # Then it succeeds: nothing retained collides with the new resources
        assert _stacks(account, REGION) == {"IamKeyLifecycle"}
        assert _stacks(account, "us-east-1") == {"IamKeyLifecycleIamEvents"}
