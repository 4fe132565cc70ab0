"""Requests from this process reach the emulator without a socket, and are answered exactly as over HTTP:
the same results, the same errors (IAM's XML, Secrets Manager's JSON, access denied under enforcement)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local_account import LocalAccount, transport

START = datetime(2026, 2, 2, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _no_host_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)


def _outcome(call: Any) -> Any:
    try:
        answer = call()
    except ClientError as error:
        return "error", error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]
    answer.pop("ResponseMetadata", None)
    return "ok", json.dumps(answer, default=str, sort_keys=True)


def test_in_process_requests_are_answered_as_over_http(monkeypatch: pytest.MonkeyPatch) -> None:
    direct: list[str] = []
    handed = transport._direct

    def counted(handler: Any, request: Any) -> Any:
        direct.append(request.url)
        return handed(handler, request)

    monkeypatch.setattr(transport, "_direct", counted)
    with LocalAccount.empty(start=START) as account:
        iam = account.admin_client("iam")
        iam.create_user(UserName="alice", Path="/temporary/")
        account.admin_client("secretsmanager").create_secret(Name="temporary-iam-users/alice", SecretString="x")
        # A principal allowed to read users only
        iam.create_user(UserName="reader", Path="/callers/")
        policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:GetUser", "Resource": "*"}]}
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        port = account.endpoint_url.rsplit(":", 1)[1]
        outcomes = {}
        # When the same requests are made in process (the routed endpoint) and over HTTP (an unrouted address)
        for way, endpoint in (("in process", account.endpoint_url), ("over HTTP", f"http://127.0.0.1:{port}")):
            answers = []
            for credentials in (account.admin_credentials, key):
                session = boto3.session.Session(
                    aws_access_key_id=credentials["AccessKeyId"],
                    aws_secret_access_key=credentials["SecretAccessKey"],
                    region_name="us-east-1",
                )
                config = Config(retries={"mode": "standard", "max_attempts": 1})
                iam_client = session.client("iam", endpoint_url=endpoint, config=config)
                secrets = session.client("secretsmanager", endpoint_url=endpoint, config=config)
                answers += [
                    _outcome(lambda c=iam_client: c.get_user(UserName="alice")),
                    _outcome(lambda c=iam_client: c.get_user(UserName="nobody")),
                    _outcome(lambda c=iam_client: c.list_users()),
                    _outcome(lambda c=secrets: c.describe_secret(SecretId="temporary-iam-users/alice")),
                    _outcome(lambda c=secrets: c.describe_secret(SecretId="temporary-iam-users/nobody")),
                ]
            outcomes[way] = answers
        routed = [key for key in transport._handlers if key[0] == account.endpoint_url]
        port_urls = {url.rsplit(":", 1)[0] for url in direct}
    # Then both ways answer the same, errors included, and the in-process ones never used a socket
    assert outcomes["in process"] == outcomes["over HTTP"]
    codes = [answer[1] for answer in outcomes["in process"] if answer[0] == "error"]
    assert codes == [
        "NoSuchEntity",
        "ResourceNotFoundException",
        "NoSuchEntity",
        "AccessDenied",
        "AccessDeniedException",
        "AccessDeniedException",
    ]
    assert routed and port_urls == {"http://localhost"} and len(direct) >= 10
