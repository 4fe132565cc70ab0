"""The Powertools layer: the release pinned in requirements-dev.txt, resolved at deploy from Powertools' public SSM
parameter; the region the app needs at synth; partitions where Powertools publishes no parameter are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import build_app
from stacks import functions, powertools
from stacks.config import ConfigError, cdk_json_context
from stacks.powertools import REQUIREMENTS, pinned_version
from tests.support.stack_template import FUNCTIONS, Synth

pytestmark = pytest.mark.xdist_group("synth")


def test_the_pin_is_read_from_requirements_dev() -> None:
    # The release the tests import is the one the functions get from the layer
    import aws_lambda_powertools.shared.version as installed

    assert pinned_version() == installed.VERSION == "3.37.0"
    assert "aws-lambda-powertools[parser,tracer]==3.37.0" in REQUIREMENTS.read_text().splitlines()


def test_the_parameter_is_named_for_the_functions_runtime_and_architecture() -> None:
    # The local account publishes the parameter from these names; the stack builds its functions from the others
    assert (functions.RUNTIME.name, functions.ARCHITECTURE.name) == (powertools.PYTHON, powertools.ARCHITECTURE)


@pytest.mark.parametrize(
    "text",
    ["boto3==1.0\n", "aws-lambda-powertools>=3.0\n", "aws-lambda-powertools==3.1.0\naws-lambda-powertools==3.2.0\n"],
)
def test_a_requirements_file_without_exactly_one_pin_fails_synth(tmp_path: Path, text: str) -> None:
    requirements = tmp_path / "requirements-dev.txt"
    requirements.write_text(text)
    with pytest.raises(ConfigError, match=r"expected one pin `aws-lambda-powertools\[\.\.\.\]==X\.Y\.Z`"):
        pinned_version(requirements)


def test_every_function_gets_the_layer_from_the_public_ssm_parameter_of_the_pinned_release(
    default_synth: Synth,
) -> None:
    # Given the stack's parameters: an AWS::SSM::Parameter::Value<String> is resolved by CloudFormation on every
    # create and update, and a parameter that does not exist fails the operation with a validation error
    # (CloudFormation User Guide, "Systems Manager parameter types")
    parameters = {
        key: value
        for key, value in default_synth.template["Parameters"].items()
        if value["Default"].startswith("/aws/service/powertools/")
    }
    [(key, parameter)] = parameters.items()
    assert parameter == {
        "Type": "AWS::SSM::Parameter::Value<String>",
        "Default": "/aws/service/powertools/python/arm64/python3.13/3.37.0",
    }
    # And the logical id carries the version: a new pin is a new parameter, so `cdk deploy` cannot reuse the
    # previous one's key (UsePreviousValue keeps the key, not the value)
    assert "3370" in key
    for name in FUNCTIONS:
        props = default_synth.properties("AWS::Lambda::Function", f"Functions{FUNCTIONS[name]}Function")
        assert props["Layers"] == [{"Ref": key}]
    # And no layer ARN (nor its publishing account) is written in the template
    assert "017000801446" not in str(default_synth.template)


@pytest.mark.parametrize(("region", "partition"), [("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov")])
def test_partitions_without_the_powertools_parameter_are_refused_at_synth(
    tmp_path: Path, region: str, partition: str
) -> None:
    with pytest.raises(ConfigError, match=f"region {region} is in the {partition} partition") as caught:
        build_app(cdk_json_context(), outdir=str(tmp_path), region=region)
    assert "only the commercial partition, aws" in str(caught.value)


def test_the_app_fails_clearly_when_no_region_is_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no CDK_DEFAULT_REGION (the CLI sets it from AWS_REGION or the profile) and no region passed in
    monkeypatch.delenv("CDK_DEFAULT_REGION")
    # Then building the app stops, saying how to give it one
    with pytest.raises(ConfigError, match="the stack's region is unknown") as caught:
        build_app(cdk_json_context(), outdir=str(tmp_path))
    assert "AWS_REGION" in str(caught.value)
