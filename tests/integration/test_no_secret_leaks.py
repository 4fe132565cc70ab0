"""No secret access key in any log line, metric, return value, SNS message or record of the notified open conditions,
across a whole key lifecycle."""

from __future__ import annotations

import gzip
import io
import json
import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from key_lifecycle.handlers.common import get_aws
from key_lifecycle.models.constants import CONDITIONS_KEY_PREFIX, LOCK_KEY_ATTRIBUTE
from key_lifecycle.observability import logger
from tests.support.moto_account import Account, wire_functions

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def test_a_full_cycle_never_reveals_a_secret_access_key(
    account: Account,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the lock table, where the scheduled runs record the conditions they notified
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="locks",
        KeySchema=[{"AttributeName": LOCK_KEY_ATTRIBUTE, "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": LOCK_KEY_ATTRIBUTE, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    wire_functions(monkeypatch, account, env={"LOCK_TABLE_NAME": "locks", "SECURITY_HUB_FINDINGS": "true"})
    # And an unmanaged user whose key will be over 90 days old at the audit (a Security Hub finding)
    account.iam.create_user(UserName="legacy-ci")
    account.iam.create_access_key(UserName="legacy-ci")
    # And every log record captured at DEBUG: the functions' JSON logger and everything else
    caplog.set_level(logging.DEBUG)
    powertools_lines = io.StringIO()
    handler = logging.StreamHandler(powertools_lines)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    runner_log = logging.getLogger("key_lifecycle.service.runner")  # the runner's own records, in this format too
    runner_log.addHandler(handler)
    results = []
    try:
        with time_machine.travel(START, tick=True) as traveller:
            # When users are created, one through a pending verification and one through a rollback
            results.append(account.create("alice", ttl_days=200, purpose="leak check"))
            account.faults.fail("GetCallerIdentity", "InvalidClientTokenId")
            results.append(account.create("bob", ttl_days=30))
            account.faults.clear()
            results.append(account.invoke("create_keys", {"action": "reconcile"}))
            account.faults.fail("UpdateSecretVersionStage")
            results.append(account.create("carol", ttl_days=30))
            account.faults.clear()
            # And keys are force-rotated, rotated on schedule (first through a storage failure), retired
            results.append(account.invoke("rotate_keys", {"user_name": "bob", "force": True}))
            traveller.move_to(START + timedelta(days=91))
            account.faults.fail("PutSecretValue")
            results.append(account.invoke("rotate_keys", {}))
            account.faults.clear()
            for days in (91, 98, 105):
                traveller.move_to(START + timedelta(days=days, hours=1))
                results.append(account.invoke("rotate_keys", {}))
            stored = account.all_secret_access_keys()
            # And the advisor reads every key's last use and history (an empty one: moto has no LookupEvents)
            account.faults.respond("LookupEvents", {"Events": []})
            results.append(account.invoke("rotate_keys", {"action": "advise"}))
            account.faults.clear()
            assert results[-1]["advice"]["keys"], results[-1]
            # And every user is cleaned up
            results.append(account.invoke("create_keys", {"action": "audit"}))
            results.append(account.invoke("cleanup_users", {"user_name": "alice"}))
            traveller.move_to(START + timedelta(days=300))
            results.append(account.invoke("cleanup_users", {}))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.INFO)
        runner_log.removeHandler(handler)

    # Then the cycle really issued, stored and deleted keys
    secrets = set(account.faults.issued_secrets)
    assert len(secrets) >= 6
    assert stored <= secrets and len(stored) >= 4
    assert account.iam.list_users(PathPrefix="/temporary/")["Users"] == []
    kinds = {action["action"] for result in results for action in result["actions"] if action["status"] == "done"}
    assert kinds >= {"create_user", "create_key", "verify_key", "deactivate_key", "delete_key", "delete_user"}

    # And none of those secrets appears in any output
    outputs = {
        "log records": "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records),
        "JSON log lines": powertools_lines.getvalue(),
        "stdout and stderr (metrics)": "".join(capsys.readouterr()),
        "return values": json.dumps(results),
        "SNS messages": json.dumps(account.notifications()),
        "Security Hub findings": json.dumps(boto3.client("securityhub").get_findings()["Findings"], default=str),
        "open conditions (DynamoDB)": "\n".join(
            gzip.decompress(item["conditions"]["B"]).decode()
            for item in dynamodb.scan(TableName="locks")["Items"]
            if item[LOCK_KEY_ATTRIBUTE]["S"].startswith(CONDITIONS_KEY_PREFIX)
        ),
    }
    assert outputs["JSON log lines"] and outputs["SNS messages"] and '"_aws"' in outputs["stdout and stderr (metrics)"]
    assert '"function": "rotate_keys"' in outputs["open conditions (DynamoDB)"]
    assert "unmanaged_key_over_90_days" in outputs["Security Hub findings"]
    for secret in secrets:
        for where, text in outputs.items():
            assert secret not in text, f"a secret access key appears in {where}"


def test_an_unreadable_create_access_key_answer_leaks_nothing_and_leaves_no_key(
    account: Account, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a managed user with its key, and IAM's answer to the next CreateAccessKey cut off after the secret:
    # botocore then raises ResponseParserError (not a ClientError) quoting the response body, secret included
    caplog.set_level(logging.DEBUG)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(logger.registered_formatter)
    logger.addHandler(handler)
    account.create("alice")
    (old_key,) = account.keys("alice")
    cut: list[str] = []

    def cut_off(response_dict: dict[str, Any], **_: Any) -> None:
        found = re.search(rb"<SecretAccessKey>([^<]+)</SecretAccessKey>", response_dict["body"])
        assert found is not None
        cut.append(found.group(1).decode())
        response_dict["body"] = response_dict["body"][: found.end()]

    get_aws().iam._client.meta.events.register_first("before-parse.iam.CreateAccessKey", cut_off)
    try:
        # When the key is force-rotated
        result = account.invoke("rotate_keys", {"user_name": "alice", "force": True})
    finally:
        logger.removeHandler(handler)

    # Then the failure names the operation and the exception type only, and the key made is deleted again
    assert len(cut) == 1
    (action,) = [a for a in result["actions"] if a["action"] == "create_key"]
    assert action["status"] == "failed"
    assert action["detail"].startswith("CreateAccessKey failed: ResponseParserError; the new key AKIA")
    assert action["detail"].endswith("was deleted again")
    assert account.keys("alice") == {old_key: "Active"}
    assert "pending-key" not in str(account.iam.list_user_tags(UserName="alice")["Tags"])
    # And the secret appears nowhere
    outputs = {
        "log records": "\n".join(record.getMessage() + str(record.__dict__) for record in caplog.records),
        "JSON log lines": lines.getvalue(),
        "stdout and stderr (metrics)": "".join(capsys.readouterr()),
        "return value": json.dumps(result),
    }
    for where, text in outputs.items():
        assert cut[0] not in text, f"the secret access key appears in {where}"
