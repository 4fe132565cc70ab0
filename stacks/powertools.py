"""The AWS-managed Powertools for AWS Lambda (Python) layer: the release pinned in requirements-dev.txt, its layer
ARN read from the public SSM parameter Powertools publishes for that release, resolved by CloudFormation at deploy.
The names are plain strings (no CDK import at module level): the local account publishes the same parameter."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from stacks.config import REPO_ROOT, ConfigError

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_
    from constructs import Construct

REQUIREMENTS = REPO_ROOT / "requirements-dev.txt"
# The tests run the pinned release; the functions get the same one from the layer.
_PIN_RE = re.compile(r"^aws-lambda-powertools(\[[^\]]*\])?==(?P<version>\d+\.\d+\.\d+)\s*(#.*)?$")
# Powertools writes /aws/service/powertools/python/{arch}/{python_version}/{version} in the commercial regions
# only (its update_ssm workflow); its China and GovCloud layers are copies with their own version numbers and
# no parameter, so a stack there could not resolve the layer.
PUBLISHED_PARTITIONS = frozenset({"aws"})
# The functions' runtime and architecture (stacks/functions.py RUNTIME and ARCHITECTURE).
PYTHON = "python3.13"
ARCHITECTURE = "arm64"


def pinned_version(requirements: Path = REQUIREMENTS) -> str:
    """The aws-lambda-powertools release pinned (`==X.Y.Z`) in the requirements file."""
    pins = [
        match["version"] for line in requirements.read_text().splitlines() if (match := _PIN_RE.match(line.strip()))
    ]
    if len(pins) != 1:
        raise ConfigError(
            f"{requirements.name}: expected one pin `aws-lambda-powertools[...]==X.Y.Z` (the layer's release), "
            f"found {len(pins)}"
        )
    return pins[0]


def parameter_name(version: str, *, architecture: str = ARCHITECTURE, python: str = PYTHON) -> str:
    """The public SSM parameter whose value is the layer ARN of this release, architecture and Python."""
    return f"/aws/service/powertools/python/{architecture}/{python}/{version}"


def check_partition(region: str) -> None:
    """Refuse, at synth, a region whose partition has no Powertools SSM parameters."""
    from aws_cdk.region_info import RegionInfo

    partition = RegionInfo.get(region).partition
    if partition is not None and partition not in PUBLISHED_PARTITIONS:
        raise ConfigError(
            f"region {region} is in the {partition} partition, where Powertools publishes no SSM parameter for "
            "its layer (only the commercial partition, aws, has them): this stack deploys to the aws partition only"
        )


def powertools_layer(
    scope: Construct, version: str, *, architecture: lambda_.Architecture, runtime: lambda_.Runtime
) -> lambda_.ILayerVersion:
    """The layer of `version`, its ARN an AWS::SSM::Parameter::Value<String> stack parameter: CloudFormation reads
    the parameter on every create and update and refuses the operation when it does not exist."""
    # The parameter's logical id is derived from its name (so from the version): a new pin is a new stack
    # parameter, never the previous one reused by `cdk deploy`.
    from aws_cdk import aws_lambda as lambda_
    from aws_cdk import aws_ssm as ssm

    arn = ssm.StringParameter.value_for_string_parameter(
        scope, parameter_name(version, architecture=architecture.name, python=runtime.name)
    )
    return lambda_.LayerVersion.from_layer_version_arn(scope, "PowertoolsLayer", arn)
