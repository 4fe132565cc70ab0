"""Locks between concurrent runs, malformed payloads that change nothing, and DEBUG logging that leaks nothing."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
import time_machine

from key_lifecycle.gateways.locks import LockGateway
from key_lifecycle.handlers.common import get_aws
from key_lifecycle.observability import logger
from tests.reliability.reliability_account import LOCK_TABLE, World
from tests.reliability.reliability_sync import MeetAtFirstLock, atomic_conditional_writes
from tests.support.moto_account import OWNER

START = datetime(2032, 3, 1, 9, 0, tzinfo=UTC)


def create(name: str, **extra: Any) -> dict[str, Any]:
    return {"action": "create_user", "user_name": name, "owner": OWNER, "ttl_days": 30, **extra}


# Locks ------------------------------------------------------------------------------------------------------


def test_a_held_lock_is_refused_then_taken_over_once_expired(world: World) -> None:
    # Given a lock held by one run
    locks = LockGateway(boto3.client("dynamodb"), LOCK_TABLE)
    first = locks.acquire("alice", "run-1", now=START)
    assert first is not None
    # When another run asks for it, Then it is refused while the hold lasts
    assert locks.acquire("alice", "run-2", now=START + timedelta(minutes=5)) is None
    # And only the holder can release it
    assert locks.release(type(first)(key="alice", owner="run-2", previous_release=None)) is False
    # And a killed holder's lock is taken over once its hold expired
    assert locks.acquire("alice", "run-2", now=START + timedelta(minutes=17)) is not None


def test_two_runs_at_once_on_one_user_never_both_act(world: World) -> None:
    with time_machine.travel(START, tick=True) as traveller:
        # Given a managed user whose key is due for rotation
        world.run("create_keys", create("alice", ttl_days=365))
        traveller.move_to(START + timedelta(days=91))
        barrier = threading.Barrier(2)
        results: dict[str, dict[str, Any]] = {}

        def invoke(label: str, function: str, event: dict[str, Any]) -> None:
            barrier.wait()
            results[label] = world.invoke(function, event)

        # When the scheduled rotation and a forced one run at the same moment
        threads = [
            threading.Thread(target=invoke, args=("scheduled", "rotate_keys", {})),
            threading.Thread(target=invoke, args=("forced", "rotate_keys", {"user_name": "alice", "force": True})),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    # Then exactly one new key exists, every key is stored, and a skipped run says why
    created = [
        a for r in results.values() for a in r["actions"] if a["action"] == "create_key" and a["status"] == "done"
    ]
    skipped = [w for r in results.values() for w in r["warnings"] if w["code"] == "locked_by_another_run"]
    assert len(created) == 1
    # (the loser either found the lock held, or took it after the winner and saw its plan was stale; or, when
    # the two did not overlap at all, read the account after the winner and had nothing left to do)
    assert len(skipped) == 1 or sum(1 for r in results.values() if r["actions"]) == 1
    assert world.problems(settled=False) == []
    assert set(world.keys("alice")) == set(world.stages("alice"))


def test_two_manual_creates_of_one_name_make_one_user(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    barrier = threading.Barrier(2)
    results: list[dict[str, Any]] = []
    atomic_conditional_writes(monkeypatch)
    meet = MeetAtFirstLock()
    meet.install(get_aws().session.events)
    meet.arm()  # both read the account before either creates

    def invoke(name: str) -> None:
        barrier.wait()
        results.append(world.invoke("create_keys", create(name)))

    with time_machine.travel(START, tick=True):
        threads = [threading.Thread(target=invoke, args=(name,)) for name in ("bob", "Bob")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    users = [u["UserName"] for u in world.managed_users()]
    assert len(users) == 1
    assert len(world.keys(users[0])) == 1
    assert world.problems(settled=False) == []
    # And the loser carried out nothing and says why, naming its user; the winner made the user alone
    (winner,) = [r for r in results if not r["warnings"]]
    (loser,) = [r for r in results if r["warnings"]]
    assert {(a["action"], a["status"]) for a in winner["actions"]} == {("create_user", "done"), ("create_key", "done")}
    assert winner["errors"] == [] and loser["errors"] == []
    assert [(w["user_name"].lower(), w["code"]) for w in loser["warnings"]] == [("bob", "locked_by_another_run")]
    assert {a["status"] for a in loser["actions"]} == {"planned"}
    assert all(a["detail"].startswith("skipped: another run") for a in loser["actions"])


# Bad input --------------------------------------------------------------------------------------------------

BAD_PAYLOADS = [
    ("create_keys", create("x", ttl_days="7"), "ttl_days"),
    ("create_keys", create("x", ttl_days=0), "ttl_days"),
    ("create_keys", create("x", ttl_days=-3), "ttl_days"),
    ("create_keys", create("x", ttl_days=10**9), "ttl_days"),
    ("create_keys", create("x", colour="red"), "colour"),
    ("create_keys", create(""), "user_name"),
    ("create_keys", create("u" * 65), "user_name"),
    ("create_keys", create("bad/name"), "user_name"),
    ("create_keys", create("semi;colon"), "user_name"),
    ("create_keys", create("root"), "user_name"),
    ("create_keys", create("OUTSIDER"), "user_name"),
    ("create_keys", create("outsider"), "user_name"),
    ("create_keys", {**create("x"), "owner": ""}, "owner"),
    ("create_keys", {**create("x"), "owner": 5}, "owner"),
    # IAM tag values hold Unicode letters, digits, white space and _ . : / = + - @ only (IAM API Reference, Tag):
    # anything else, even one character among valid ones, reaches no API.
    ("create_keys", {**create("x"), "owner": "alice<bob"}, "owner"),
    ("create_keys", {**create("x"), "owner": "alice\x00bob"}, "owner"),
    ("create_keys", {**create("x"), "owner": "alice\u202ebob"}, "owner"),
    ("create_keys", {**create("x"), "purpose": "deploys\u202e"}, "purpose"),
    # IAM user names allow ',', Secrets Manager secret names do not: the user would be made, then rolled back.
    ("create_keys", create("a,b"), "user_name"),
    ("create_keys", {**create("x"), "dry_run": "yes"}, "dry_run"),
    ("create_keys", {"action": "explode"}, "action"),
    ("create_keys", ["not", "an", "object"], "event"),
    ("rotate_keys", {"user_name": 7}, "user_name"),
    ("rotate_keys", {"user_name": "existing", "force": "true"}, "force"),
    ("rotate_keys", {"force": True}, "user_name"),
    ("rotate_keys", {"user_name": "outsider", "force": True}, "user_name"),
    ("rotate_keys", {"user_name": "root", "force": True}, "user_name"),
    ("rotate_keys", {"user_name": "nobody"}, "user_name"),
    ("rotate_keys", {"surprise": 1}, "surprise"),
    ("cleanup_users", {"user_name": ""}, "user_name"),
    ("cleanup_users", {"user_name": "a" * 65}, "user_name"),
    ("cleanup_users", {"user_name": "outsider"}, "user_name"),
    ("cleanup_users", {"user_name": "root"}, "user_name"),
    ("cleanup_users", {"user_name": "bad name"}, "user_name"),
    ("cleanup_users", {"dry_run": 1}, "dry_run"),
    ("cleanup_users", "cleanup everything", "event"),
]


def full_state(world: World) -> dict[str, Any]:
    state = world.state()
    state["policies"] = sorted(p["Arn"] for p in world.iam.list_policies(Scope="Local")["Policies"])
    state["groups"] = sorted(g["GroupName"] for g in world.iam.list_groups()["Groups"])
    return state


def test_every_malformed_payload_names_its_field_and_changes_nothing(world: World) -> None:
    with time_machine.travel(START, tick=True):
        # Given a managed user, a user outside the managed scope, and the state of the whole account
        world.run("create_keys", create("existing"))
        world.iam.create_user(UserName="outsider", Path="/people/")
        world.iam.create_access_key(UserName="outsider")
        before = full_state(world)
        for function, event, field in BAD_PAYLOADS:
            # When each malformed payload is sent
            report = world.invoke(function, event)
            # Then it is refused naming the field (or the user), with no action, and nothing changed
            assert report["actions"] == [], (function, event)
            assert report["errors"], (function, event)
            named = field in report["errors"][0] or (
                field == "user_name" and str(event.get("user_name", "")).lower() in report["errors"][0].lower()  # type: ignore[attr-defined]
            )
            assert named, (function, event, report["errors"])
            assert full_state(world) == before, (function, event)


def test_garbled_dates_on_managed_users_are_reported_never_a_reason_to_delete(world: World) -> None:
    with time_machine.travel(START, tick=True) as traveller:
        world.run("create_keys", create("garbled"))
        world.iam.tag_user(UserName="garbled", Tags=[{"Key": "expires-at", "Value": "next tuesday"}])
        world.run("create_keys", create("exempt"))
        world.iam.tag_user(UserName="exempt", Tags=[{"Key": "exempt-until", "Value": "2099-13-45"}])
        traveller.move_to(START + timedelta(days=31))  # "exempt" expired, "garbled" would have
        report = world.invoke("cleanup_users", {})
    codes = {(w["user_name"], w["code"]) for w in report["warnings"]}
    assert ("garbled", "bad_expires_at") in codes and ("exempt", "bad_exempt_until") in codes
    assert not [a for a in report["actions"] if a["user_name"] in ("garbled", "exempt")]
    assert {u["UserName"] for u in world.managed_users()} == {"garbled", "exempt"}


# No secret leaks under DEBUG --------------------------------------------------------------------------------


COLD_START_AT_DEBUG = """
import json, logging
logging.basicConfig(level=logging.DEBUG)  # the root logger at the Lambda's application log level, DEBUG
import key_lifecycle.handlers.rotate_keys
from key_lifecycle.observability import logger
names = ["botocore", "botocore.endpoint", "botocore.parsers", "boto3", "urllib3.connectionpool", "s3transfer"]
verbose = [name for name in names if logging.getLogger(name).isEnabledFor(logging.INFO)]
print(json.dumps({"debug": logger.log_level, "below_warning": verbose}))
"""


def test_a_cold_start_at_debug_leaves_the_aws_libraries_at_warning() -> None:
    # Given a function configured for DEBUG everywhere: Powertools, the Lambda log level and the root logger
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "DEBUG", "LOG_LEVEL": "DEBUG", "AWS_LAMBDA_LOG_LEVEL": "DEBUG"}
    # When a handler module is imported in a fresh interpreter, as a cold start does
    done = subprocess.run(
        [sys.executable, "-c", COLD_START_AT_DEBUG], capture_output=True, text=True, env=env, timeout=120, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # Then the functions' own logger is at DEBUG, and no AWS library logger emits below WARNING
    assert result == {"debug": logging.DEBUG, "below_warning": []}


def test_no_secret_in_any_output_with_debug_everywhere_and_injected_failures(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    caplog.set_level(logging.DEBUG)
    lines = io.StringIO()
    root_handler = logging.StreamHandler(lines)
    logging.getLogger().addHandler(root_handler)
    logger.setLevel(logging.DEBUG)
    logger.addHandler(root_handler)
    # DEBUG on the root logger, which every library logger without a level of its own follows; the AWS libraries'
    # loggers keep the WARNING the functions set at cold start (test_a_cold_start_at_debug_leaves_...).
    boto3.set_stream_logger("", logging.DEBUG)
    try:
        with time_machine.travel(START, tick=True) as traveller:
            world.run("create_keys", create("leaky"))
            # Failures at the lock, CreateAccessKey, the verification and the promotion, then a kill at the storage
            for k in (5, 10, 13, 15):
                world.run("rotate_keys", {"user_name": "leaky", "force": True}, crash_at=k)
                traveller.shift(timedelta(minutes=20))
                world.schedules()
            world.run("rotate_keys", {"user_name": "leaky", "force": True}, crash_at=11, mode="kill")
            traveller.shift(timedelta(minutes=20))
            world.schedules()
            world.run("cleanup_users", {"user_name": "leaky"})
    finally:
        logging.getLogger().removeHandler(root_handler)
        logger.removeHandler(root_handler)  # type: ignore[attr-defined]  # passed on to the wrapped logging.Logger
        logger.setLevel(logging.INFO)
        logging.getLogger().setLevel(logging.WARNING)
    secrets = set(world.faults.issued_secrets)
    assert len(secrets) >= 3
    outputs = {
        "log records": "\n".join(r.getMessage() + str(r.__dict__) for r in caplog.records),
        "log lines": lines.getvalue(),
        "stdout/stderr (metrics)": "".join(capsys.readouterr()),
        "reports": json.dumps(world.reports),
        "SNS": json.dumps(world.notifications()),
    }
    for secret in secrets:
        for where, text in outputs.items():
            assert secret not in text, f"a secret access key appears in {where}"
