"""Fixtures every test folder may use: the Lambda context, and the app synthesized once per session (default
context, and one far-from-default variant). Also: every test that builds the CDK app in process gets the region the
CDK CLI would pass it (CDK_DEFAULT_REGION); every moto-backed test gets the users' permissions boundaries in IAM's
answers, as AWS gives them."""

from __future__ import annotations

import pytest
from aws_lambda_powertools.utilities.typing import LambdaContext

from local_account.emulator import users as _user_responses
from tests.support.lambda_context import make_lambda_context
from tests.support.stack_template import (
    ORGANIZATION_CONTEXT,
    VARIANT_CONTEXT,
    Synth,
    synthesize_app,
    use_cli_environment,
)

use_cli_environment()
# moto leaves PermissionsBoundary out of GetUser and GetAccountAuthorizationDetails, which AWS returns; the stack
# manages only users carrying its boundary, so every moto-backed test needs AWS's answer (local_account's patch).
_user_responses.install()


@pytest.fixture
def lambda_context() -> LambdaContext:
    """A fresh invocation with the stack's whole time budget ahead of it."""
    return make_lambda_context()


# Synthesis in process costs seconds (the jsii runtime, then the app): once per session, only where asked for.


@pytest.fixture(scope="session")
def default_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app of cdk.json's context, as `cdk synth` makes it."""
    return synthesize_app({}, tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def variant_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app of cdk.json's context with VARIANT_CONTEXT over it."""
    return synthesize_app(VARIANT_CONTEXT, tmp_path_factory.mktemp("cdk-variant"))


@pytest.fixture(scope="session")
def organization_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app of cdk.json's context with organization mode on (ORGANIZATION_CONTEXT)."""
    return synthesize_app(ORGANIZATION_CONTEXT, tmp_path_factory.mktemp("cdk-organization"))
