"""Access keys authenticate as on AWS: a deactivated key is refused (InvalidClientTokenId), a refused request does
not count as the key's last use, and temporary credentials are refused once expired (ExpiredToken), on the
virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine
from botocore.exceptions import ClientError

from local_account.emulator.credentials import last_use_delay
from tests.local_account.emulator_helpers import REGION, error_code


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
    # Then AWS refuses the credentials, and the key shows no use, even once a use would have been recorded
    assert error_code(refused) == "InvalidClientTokenId"
    with time_machine.travel(datetime.now(UTC) + last_use_delay + timedelta(minutes=1)):
        last_used = iam.get_access_key_last_used(AccessKeyId=key_id)["AccessKeyLastUsed"]
    assert "LastUsedDate" not in last_used


def test_temporary_credentials_stop_working_when_they_expire_on_the_virtual_clock(iam, enforced) -> None:
    import json

    # Given a role allowed sts:GetCallerIdentity, assumed for 15 minutes at a virtual moment
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]}
    role = iam.create_role(RoleName="worker", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(
        RoleName="worker",
        PolicyName="identity",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:*", "Resource": "*"}]}
        ),
    )
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        credentials = boto3.client("sts", region_name=REGION).assume_role(
            RoleArn=role["Arn"], RoleSessionName="run", DurationSeconds=900
        )["Credentials"]
        signed = boto3.client(
            "sts",
            region_name=REGION,
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
        )
        with enforced():
            # When they are used 14 minutes later, they work
            clock.shift(timedelta(minutes=14))
            assert signed.get_caller_identity()["Arn"].endswith(":assumed-role/worker/run")
            # And 2 minutes after that, past their expiration, AWS refuses them
            clock.shift(timedelta(minutes=2))
            with pytest.raises(ClientError) as refused:
                signed.get_caller_identity()
    assert error_code(refused) == "ExpiredToken"
