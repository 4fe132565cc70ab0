"""What AWS publishes for every account and the local account must hold before a deploy: the Powertools layer
of the pinned release, in Powertools' own account, and the public SSM parameter that names it."""

from __future__ import annotations

import base64
import io
import zipfile

from stacks.powertools import ARCHITECTURE, PYTHON, parameter_name

# The account Powertools for AWS Lambda (Python) publishes its commercial-partition layers from.
POWERTOOLS_ACCOUNT = "017000801446"


def _layer_zip(version: str) -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        # The local account runs the functions with the installed package of the same release; the layer holds
        # only its marker, so its ARN and version are real without shipping the package twice.
        archive.writestr("python/aws_lambda_powertools-local.txt", f"aws-lambda-powertools=={version}\n")
    return base64.b64encode(buffer.getvalue()).decode()


def layer_name(architecture: str = ARCHITECTURE, python: str = PYTHON) -> str:
    """Powertools' layer name, e.g. AWSLambdaPowertoolsPythonV3-python313-arm64."""
    return f"AWSLambdaPowertoolsPythonV3-{python.replace('.', '')}-{architecture}"


def publish_powertools_layer(account_id: str, region: str, version: str) -> str:
    """Publish the release's layer in Powertools' account and region, then its public parameter
    `/aws/service/powertools/python/{arch}/{python}/{version}` as `account_id` reads it; returns the layer ARN."""
    from moto.awslambda.models import lambda_backends
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter, ssm_backends

    layer = lambda_backends[POWERTOOLS_ACCOUNT][region].publish_layer_version(
        {
            "LayerName": layer_name(),
            "Content": {"ZipFile": _layer_zip(version)},
            "Description": f"Powertools for AWS Lambda (Python) {version}",
            "CompatibleRuntimes": [PYTHON],
            "CompatibleArchitectures": [ARCHITECTURE],
        }
    )
    name = parameter_name(version)
    # A public parameter: PutParameter refuses names under /aws ("No access to reserved parameter name"), as AWS
    # does; AWS writes it, so the local account stores it the way moto stores its own public parameters.
    ssm_backends[account_id][region]._parameters[name].append(
        Parameter(
            account_id=account_id,
            name=name,
            value=layer.arn,
            parameter_type="String",
            description=None,
            allowed_pattern=None,
            keyid=None,
            last_modified_date=utcnow(),
            version=1,
            data_type="text",
        )
    )
    return layer.arn
