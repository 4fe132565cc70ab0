"""The Powertools layer's public SSM parameter in the local account, and CloudFormation resolving a Systems Manager
parameter type as AWS does: the parameter's value when it exists, a validation error (and no stack) when not."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.awslambda.models import lambda_backends

from local_account.public_parameters import POWERTOOLS_ACCOUNT, publish_powertools_layer
from stacks.powertools import parameter_name, pinned_version
from tests.local_account.emulator_helpers import ACCOUNT, error_code

REGION = "eu-west-1"
NAME = parameter_name("3.37.0")


def _template(parameter: str) -> str:
    return json.dumps(
        {
            "Parameters": {"Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": parameter}},
            "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
            "Outputs": {"LayerArn": {"Value": {"Ref": "Layer"}}},
        }
    )


def test_the_published_parameter_names_the_pinned_releases_layer_in_powertools_account(aws: None) -> None:
    # When the local account publishes what AWS publishes for the pinned release
    arn = publish_powertools_layer(ACCOUNT, REGION, pinned_version())
    # Then the public parameter reads as Powertools writes it: the layer version ARN in Powertools' account
    value = boto3.client("ssm", region_name=REGION).get_parameter(Name=NAME)["Parameter"]["Value"]
    assert (
        value
        == arn
        == f"arn:aws:lambda:{REGION}:{POWERTOOLS_ACCOUNT}:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:1"
    )
    # And that layer version exists there, for python3.13 on arm64
    layer = lambda_backends[POWERTOOLS_ACCOUNT][REGION].layers_versions_by_arn(arn)
    assert layer is not None
    assert (layer.compatible_runtimes, layer.compatible_architectures) == (["python3.13"], ["arm64"])
    # And nobody else may write under /aws: PutParameter refuses reserved names, as in AWS
    with pytest.raises(ClientError) as refused:
        boto3.client("ssm", region_name=REGION).put_parameter(Name=NAME, Value="x", Type="String", Overwrite=True)
    assert "reserved parameter name" in str(refused.value)


def test_cloudformation_resolves_a_systems_manager_parameter_type_to_its_value(aws: None) -> None:
    arn = publish_powertools_layer(ACCOUNT, REGION, "3.37.0")
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    cloudformation.create_stack(StackName="layer", TemplateBody=_template(NAME))
    [stack] = cloudformation.describe_stacks(StackName="layer")["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]} == {"LayerArn": arn}


@pytest.mark.parametrize(
    ("published_in", "version"),
    [(None, "3.37.0"), ("us-east-1", "3.37.0"), (REGION, "3.36.0")],
    ids=["never-published", "other-region", "other-release"],
)
def test_a_missing_parameter_fails_the_create_with_a_validation_error_and_no_stack(
    aws: None, published_in: str | None, version: str
) -> None:
    # Given the parameter absent from the stack's region (not published, published elsewhere, another release):
    # "If a specified parameter doesn't exist in Parameter Store under the caller's AWS account, CloudFormation
    # returns a validation error" (CloudFormation User Guide, Systems Manager parameter types)
    if published_in:
        publish_powertools_layer(ACCOUNT, published_in, version)
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    with pytest.raises(ClientError) as failed:
        cloudformation.create_stack(StackName="layer", TemplateBody=_template(NAME))
    assert error_code(failed) == "ValidationError"
    assert f"Unable to fetch parameters [{NAME}] from parameter store for this account." in str(failed.value)
    # And nothing was created: no stack, no queue
    assert cloudformation.list_stacks()["StackSummaries"] == []
    assert boto3.client("sqs", region_name=REGION).list_queues().get("QueueUrls", []) == []
