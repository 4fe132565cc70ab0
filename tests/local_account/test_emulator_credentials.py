"""Access keys authenticate as on AWS: a deactivated key is refused (InvalidClientTokenId), and a refused
request does not count as the key's last use."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from emulator_helpers import REGION, error_code


@pytest.fixture
def consumer_key(iam: Any) -> dict[str, str]:
    iam.create_user(UserName="pipeline", Path="/temporary/")
    key = iam.create_access_key(UserName="pipeline")["AccessKey"]
    return {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}


def test_an_active_key_signs_requests(consumer_key, enforced) -> None:
    with enforced():
        identity = boto3.client("sts", region_name=REGION, **consumer_key).get_caller_identity()
    assert identity["Arn"].endswith(":user/temporary/pipeline")


def test_a_deactivated_key_is_refused_and_its_refused_use_is_not_recorded(iam, consumer_key, enforced) -> None:
    # Given the consumer's key, deactivated
    key_id = consumer_key["aws_access_key_id"]
    iam.update_access_key(UserName="pipeline", AccessKeyId=key_id, Status="Inactive")
    # When the consumer still signs with it
    with enforced(), pytest.raises(ClientError) as refused:
        boto3.client("sts", region_name=REGION, **consumer_key).get_caller_identity()
    # Then AWS refuses the credentials, and the key shows no use
    assert error_code(refused) == "InvalidClientTokenId"
    last_used = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
    assert "LastUsedDate" not in last_used
