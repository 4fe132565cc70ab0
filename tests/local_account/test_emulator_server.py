"""The emulator's HTTP server as the local account runs it (127.0.0.1, IAM enforcement on, virtual clock):
signed GET requests of REST services verify as on AWS, and the Date header keeps real time."""

from __future__ import annotations

import email.utils
import json
import logging
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import time_machine
from moto.server import ThreadedMotoServer

from local_account.emulator import aws_fidelity
from tests.local_account.emulator_helpers import REGION, policy


def _post(endpoint: str, path: str, body: bytes) -> dict[str, Any]:
    request = urllib.request.Request(endpoint + path, data=body, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read() or b"{}"))


@pytest.fixture
def endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    with aws_fidelity():
        server.start()
        url = f"http://localhost:{server.get_host_and_port()[1]}"
        _post(url, "/moto-api/reset", b"")
        try:
            yield url
        finally:
            _post(url, "/moto-api/reset-auth", b"inf")
            _post(url, "/moto-api/reset", b"")
            server.stop()


@pytest.fixture
def administrator(endpoint: str) -> boto3.Session:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name=REGION)
    iam.create_user(UserName="administrator")
    everything = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    iam.put_user_policy(UserName="administrator", PolicyName="all", PolicyDocument=policy(everything))
    key = iam.create_access_key(UserName="administrator")["AccessKey"]
    _post(endpoint, "/moto-api/reset-auth", b"0")
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def test_signed_get_requests_of_rest_services_verify(endpoint, administrator) -> None:
    # Given IAM enforcement and a real principal; when it makes bodiless GETs to REST services
    functions = administrator.client("lambda", endpoint_url=endpoint).list_functions()
    schedules = administrator.client("scheduler", endpoint_url=endpoint).list_schedules()
    # Then the signatures verify (SigV4 signs the empty body, not moto's parsed parameters)
    assert functions["Functions"] == []
    assert schedules["Schedules"] == []


def test_the_date_header_keeps_real_time_under_a_virtual_clock(endpoint) -> None:
    # Given a virtual clock a year and more before real time
    hatch = time_machine.escape_hatch
    real_now = datetime.fromtimestamp(hatch.time.time() if hatch.is_travelling() else time.time(), UTC)
    with time_machine.travel(datetime(2020, 1, 1, tzinfo=UTC), tick=False):
        # When the emulator answers a request
        response = boto3.client("sts", endpoint_url=endpoint, region_name=REGION).get_caller_identity()
    # Then its Date header is the real time (SDKs correct their clock from it), within a minute
    served = email.utils.parsedate_to_datetime(response["ResponseMetadata"]["HTTPHeaders"]["date"])
    assert abs((served - real_now).total_seconds()) < 60
