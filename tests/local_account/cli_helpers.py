"""The real CDK CLI against an empty local account, for the tests that deploy and delete the stack themselves."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_account import LocalAccount
from local_account.account import BASE_CONTEXT
from local_account.cdk import CdkCli

HOST_CREDENTIALS = (
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
)


def forget_host_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI must use the local account's administrator, never credentials of the machine."""
    for name in HOST_CREDENTIALS:
        monkeypatch.delenv(name, raising=False)


def bootstrapped_cli(account: LocalAccount, outdir: Path) -> CdkCli:
    """A CLI as the account's administrator, with the account bootstrapped in its region and us-east-1 (where the
    forwarding stack goes) and the app synthesized with the local account's context."""
    admin = account.admin_credentials
    cli = CdkCli(
        endpoint_url=account.endpoint_url,
        credentials=(admin["AccessKeyId"], admin["SecretAccessKey"]),
        region=account.region,
        output_dir=outdir / "cdk.out",
    )
    cli.bootstrap(account.account_id, account.region, "us-east-1")
    cli.synth(BASE_CONTEXT)
    return cli
