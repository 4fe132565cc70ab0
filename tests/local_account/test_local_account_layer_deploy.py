"""The real `cdk deploy --all` into the local account needs the Powertools parameter of the pinned release: without
it CloudFormation refuses the main stack with AWS's validation error and nothing is created; once the local account
publishes it (as `LocalAccount.deploy` does), the same deploy succeeds with the layer ARN the parameter holds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from local_account import LocalAccount
from local_account.cdk import CdkError
from local_account.public_parameters import publish_powertools_layer
from stacks.powertools import parameter_name, pinned_version
from tests.local_account.cli_helpers import bootstrapped_cli, forget_host_credentials

START = datetime(2026, 1, 5, tzinfo=UTC)
REGION = "eu-west-1"

pytestmark = [
    pytest.mark.xdist_group("local-account-deploy"),
    # moto names each resource type its CloudFormation skips (alarms, resource policies...)
    pytest.mark.filterwarnings("ignore:Tried to parse .* not supported by moto:UserWarning"),
]


@pytest.fixture(autouse=True)
def _no_host_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    forget_host_credentials(monkeypatch)


def test_the_deploy_fails_loudly_without_the_parameter_and_succeeds_once_it_is_published(tmp_path: Path) -> None:
    with LocalAccount.empty(start=START, region=REGION) as account:
        cli = bootstrapped_cli(account, tmp_path)
        cloudformation = account.admin_client("cloudformation")
        # When the account has no parameter for the pinned release
        with pytest.raises(CdkError) as failed:
            cli.deploy()
        # Then the CLI reports CloudFormation's validation error naming the parameter, and no stack exists
        name = parameter_name(pinned_version())
        assert f"Unable to fetch parameters [{name}] from parameter store for this account." in str(failed.value)
        assert [s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]] == ["CDKToolkit"]
        # When AWS has published it (the local account does so before each deploy)
        layer_arn = publish_powertools_layer(account.account_id, REGION, pinned_version())
        cli.deploy()
        # Then both stacks exist, and the main stack's layer parameter resolved to the published layer
        names = {s["StackName"] for s in cloudformation.describe_stacks()["Stacks"]}
        east = account.admin_client("cloudformation", region="us-east-1").describe_stacks()["Stacks"]
        assert "IamKeyLifecycle" in names and "IamKeyLifecycleIamEvents" in {s["StackName"] for s in east}
        [stack] = cloudformation.describe_stacks(StackName="IamKeyLifecycle")["Stacks"]
        # (AWS answers the key as ParameterValue and the value as ResolvedValue; moto the value as ParameterValue)
        [parameter] = [p for p in stack["Parameters"] if p["ParameterKey"].startswith("SsmParameterValue")]
        assert parameter.get("ResolvedValue", parameter["ParameterValue"]) == layer_arn
