"""`make destroy` and a redeploy in the local account: deleting both stacks (what `cdk destroy --all` does) succeeds,
leaves exactly what the template retains, and the same deploy then succeeds again (no name left taken)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from local_account import LocalAccount
from local_account.public_parameters import publish_powertools_layer
from stacks.powertools import pinned_version
from tests.local_account.cli_helpers import bootstrapped_cli, forget_host_credentials

START = datetime(2026, 1, 5, tzinfo=UTC)
REGION = "eu-west-1"

pytestmark = [
    pytest.mark.xdist_group("local-account-deploy"),
    pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning"),
]


@pytest.fixture(autouse=True)
def _no_host_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_host_credentials(monkeypatch)


def test_destroy_leaves_the_secrets_key_and_the_logs_and_a_redeploy_succeeds(tmp_path: Path) -> None:
    with LocalAccount.empty(start=START, region=REGION) as account:
        cli = bootstrapped_cli(account, tmp_path)
        publish_powertools_layer(account.account_id, REGION, pinned_version())
        cli.deploy()
        cloudformation = account.admin_client("cloudformation")
        east = account.admin_client("cloudformation", region="us-east-1")
        resources = cloudformation.list_stack_resources(StackName="IamKeyLifecycle")["StackResourceSummaries"]
        physical = {(r["ResourceType"], r["LogicalResourceId"]): r["PhysicalResourceId"] for r in resources}

        def of_type(resource_type: str, prefix: str = "") -> list[str]:
            return [p for (t, i), p in physical.items() if t == resource_type and i.startswith(prefix)]

        # When both stacks are deleted as `make destroy` does (cdk destroy --all: the forwarding stack first)
        cli.destroy()
        # Then both are gone (a resource CloudFormation cannot delete would leave its stack DELETE_FAILED)
        assert "IamKeyLifecycle" not in {s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]}
        assert "IamKeyLifecycleIamEvents" not in {s["StackName"] for s in east.describe_stacks()["Stacks"]}

        # And the secrets key is kept, usable (RetainExceptOnCreate), and so are the functions' log groups
        kms = account.admin_client("kms")
        (secrets_key,) = of_type("AWS::KMS::Key", "SecretsEncryption")
        assert kms.describe_key(KeyId=secrets_key)["KeyMetadata"]["KeyState"] == "Enabled"
        (logs_key,) = of_type("AWS::KMS::Key", "FunctionsLogsKey")
        assert kms.describe_key(KeyId=logs_key)["KeyMetadata"]["KeyState"] == "Enabled"
        kept_logs = {g["logGroupName"] for g in account.admin_client("logs").describe_log_groups()["logGroups"]}
        assert len(of_type("AWS::Logs::LogGroup")) == 4 and set(of_type("AWS::Logs::LogGroup")) <= kept_logs
        # And the topic's key is scheduled for deletion after its 7-day window, the lock table and the schedule group
        # are gone with the stack
        for prefix in ("Notifications", "UserLocks"):
            (key,) = of_type("AWS::KMS::Key", prefix)
            metadata = kms.describe_key(KeyId=key)["KeyMetadata"]
            assert metadata["KeyState"] == "PendingDeletion", prefix
            assert (metadata["DeletionDate"] - datetime.now(UTC)).days in (6, 7), prefix
        assert account.admin_client("dynamodb").list_tables()["TableNames"] == []
        groups = account.admin_client("scheduler").list_schedule_groups()["ScheduleGroups"]
        assert [g["Name"] for g in groups] == ["default"]

        # When the same app is deployed again, then it succeeds, with a new key and new log groups
        cli.deploy()
        redeployed = cloudformation.list_stack_resources(StackName="IamKeyLifecycle")["StackResourceSummaries"]
        new_key = next(r["PhysicalResourceId"] for r in redeployed if r["LogicalResourceId"].startswith("Secrets"))
        assert new_key != secrets_key
