"""Step Functions executions in the local account (moto's interpreter, `emulator/stepfunctions.py`), where moto
differs from AWS: ASL's ToleratedFailurePercentage is a number 0-100, an integer included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from local_account import LocalAccount


@pytest.fixture(scope="module")
def account() -> Iterator[LocalAccount]:
    with LocalAccount.empty(start=datetime(2026, 1, 5, 10, tzinfo=UTC)) as local:
        yield local


def test_tolerated_failure_percentage_may_be_an_integer(account: LocalAccount) -> None:
    # AWS: "ToleratedFailurePercentage ... any number from 0 through 100" (`10` as well as `10.0`); moto's parser
    # takes only a decimal (test_organization_moto.py pins that).
    definition = {
        "StartAt": "Accounts",
        "States": {
            "Accounts": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ToleratedFailurePercentage": 10,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    created = account.admin_client("stepfunctions").create_state_machine(
        name="integer-tolerance",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{account.account_id}:role/states",
    )
    done = account.start_execution(created["stateMachineArn"], {"items": [1, 2]})
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == [1, 2]


# --- Retry waits on the virtual clock -----------------------------------------------------------------------

MISSING_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:missing"


def _create(account: LocalAccount, name: str, definition: dict[str, Any]) -> str:
    created = account.admin_client("stepfunctions").create_state_machine(
        name=name, definition=json.dumps(definition), roleArn=f"arn:aws:iam::{account.account_id}:role/states"
    )
    return str(created["stateMachineArn"])


def _failing_task(retry: dict[str, Any]) -> dict[str, Any]:
    return {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": MISSING_FUNCTION, "Payload": {}},
                "Retry": [{"ErrorEquals": ["States.ALL"], **retry}],
                "End": True,
            }
        },
    }


def test_retry_intervals_with_backoff_pass_on_the_virtual_clock(account: LocalAccount) -> None:
    # AWS: the n-th retry waits IntervalSeconds x BackoffRate^(n-1); moto sleeps that long in real time, the local
    # account moves its virtual clock instead.
    arn = _create(account, "retry-backoff", _failing_task({"IntervalSeconds": 30, "MaxAttempts": 3, "BackoffRate": 2}))
    waits_before, clock_before = len(account.retry_waits), account.now
    done = account.start_execution(arn)
    assert done["status"] == "FAILED"
    assert account.retry_waits[waits_before:] == [30, 60, 120]
    assert (account.now - clock_before).total_seconds() >= 210


def test_retry_with_full_jitter_and_max_delay_waits_at_most_the_capped_interval(account: LocalAccount) -> None:
    # AWS: JitterStrategy FULL waits a random time up to the computed interval, which MaxDelaySeconds caps.
    retry = {"IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2, "MaxDelaySeconds": 10, "JitterStrategy": "FULL"}
    arn = _create(account, "retry-jitter", _failing_task(retry))
    waits_before = len(account.retry_waits)
    assert account.start_execution(arn)["status"] == "FAILED"
    waits = account.retry_waits[waits_before:]
    caps = [2, 4, 8, 10, 10, 10]
    assert len(waits) == 6 and all(0 <= wait <= cap for wait, cap in zip(waits, caps, strict=True))
    assert waits != caps  # jittered


# --- Distributed Map: result files and tolerated failures ---------------------------------------------------

RESULTS_BUCKET = "map-results"


def _map_over_accounts(**map_fields: Any) -> dict[str, Any]:
    """A map over `$.accounts` whose item fails (Error "Boom") when the item says so; as the stack writes it, the
    child's input is built by an ItemSelector."""
    return {
        "StartAt": "EachAccount",
        "States": {
            "EachAccount": {
                "Type": "Map",
                "ItemsPath": "$.accounts",
                "ItemSelector": {"job": "rotate", "account_id.$": "$$.Map.Item.Value.id"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Decide",
                    "States": {
                        "Decide": {
                            "Type": "Choice",
                            "Choices": [{"Variable": "$.account_id", "StringEquals": "222222222222", "Next": "Boom"}],
                            "Default": "Done",
                        },
                        "Boom": {"Type": "Fail", "Error": "Boom", "Cause": "no spoke role"},
                        "Done": {"Type": "Pass", "Parameters": {"done.$": "$.account_id"}, "End": True},
                    },
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": RESULTS_BUCKET, "Prefix": "rotate"},
                },
                "End": True,
                **map_fields,
            }
        },
    }


ACCOUNTS = {"accounts": [{"id": "111111111111"}, {"id": "222222222222"}, {"id": "333333333333"}]}


def _read(account: LocalAccount, key: str) -> Any:
    body = account.admin_client("s3").get_object(Bucket=RESULTS_BUCKET, Key=key)["Body"]
    return json.loads(body.read())


@pytest.fixture(scope="module")
def results_bucket(account: LocalAccount) -> str:
    account.admin_client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    return RESULTS_BUCKET


def test_the_result_writer_writes_every_child_execution_to_the_files_its_manifest_lists(
    account: LocalAccount, results_bucket: str
) -> None:
    # AWS: <prefix>/<map run id>/manifest.json lists SUCCEEDED_n.json and FAILED_n.json, each a list of the child
    # executions with their Input (after the ItemSelector), Output or Error and Cause; moto writes an empty manifest.
    arn = _create(account, "writer", _map_over_accounts(ToleratedFailurePercentage=50))
    done = account.start_execution(arn, ACCOUNTS)
    assert done["status"] == "SUCCEEDED", done
    details = json.loads(done["output"])["ResultWriterDetails"]
    assert details["Bucket"] == results_bucket and details["Key"].startswith("rotate/")
    manifest = _read(account, details["Key"])
    files = manifest["ResultFiles"]
    assert [f["Key"].rsplit("/", 1)[-1] for f in files["SUCCEEDED"]] == ["SUCCEEDED_0.json"]
    assert [f["Key"].rsplit("/", 1)[-1] for f in files["FAILED"]] == ["FAILED_0.json"]
    assert files["PENDING"] == []
    succeeded = _read(account, files["SUCCEEDED"][0]["Key"])
    assert [json.loads(e["Input"]) for e in succeeded] == [
        {"job": "rotate", "account_id": "111111111111"},
        {"job": "rotate", "account_id": "333333333333"},
    ]
    assert [json.loads(e["Output"]) for e in succeeded] == [{"done": "111111111111"}, {"done": "333333333333"}]
    assert {e["Status"] for e in succeeded} == {"SUCCEEDED"}
    (failed,) = _read(account, files["FAILED"][0]["Key"])
    assert json.loads(failed["Input"])["account_id"] == "222222222222"
    assert (failed["Status"], failed["Error"], failed["Cause"]) == ("FAILED", "Boom", "no spoke role")
    assert "Output" not in failed


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({}, "FAILED"),  # no threshold: one failed item fails the map run
        ({"ToleratedFailurePercentage": 10}, "FAILED"),  # 1 of 3 is 33 % > 10 %
        ({"ToleratedFailurePercentage": 34}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 1}, "SUCCEEDED"),
        ({"ToleratedFailureCount": 0}, "FAILED"),
    ],
)
def test_a_map_run_fails_beyond_its_tolerated_failures(
    account: LocalAccount, results_bucket: str, fields: dict[str, Any], status: str
) -> None:
    # AWS: the Map Run fails with States.ExceedToleratedFailureThreshold when more items fail than tolerated (by
    # count or by percentage; neither set tolerates none); moto ignores both and always succeeds.
    arn = _create(account, f"tolerance-{len(fields)}-{abs(hash(str(fields)))}", _map_over_accounts(**fields))
    done = account.start_execution(arn, ACCOUNTS)
    assert done["status"] == status, done
    if status == "FAILED":
        assert done.get("error") == "States.ExceedToleratedFailureThreshold"


# --- Catch inside a Distributed Map and on the map itself ----------------------------------------------------


def test_a_catch_in_the_item_processor_makes_an_items_failure_its_result(
    account: LocalAccount, results_bucket: str
) -> None:
    # AWS: a Task's Catch inside the item processor ends the child execution SUCCEEDED with the catcher's output (the
    # state's input with {"Error", "Cause"} at the Catch's ResultPath); the ResultWriter lists it with the succeeded
    # ones and it does not count against the tolerated failures (here none are tolerated).
    definition = _map_over_accounts()
    processor = definition["States"]["EachAccount"]["ItemProcessor"]["States"]
    processor["Boom"] = {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": MISSING_FUNCTION, "Payload": {}},
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 1}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "AccountFailed"}],
        "End": True,
    }
    processor["AccountFailed"] = {
        "Type": "Pass",
        "Parameters": {"account_id.$": "$.account_id", "failed.$": "$.failure"},
        "End": True,
    }
    done = account.start_execution(_create(account, "caught-item", definition), ACCOUNTS)
    assert done["status"] == "SUCCEEDED", done
    files = _read(account, json.loads(done["output"])["ResultWriterDetails"]["Key"])["ResultFiles"]
    assert files["FAILED"] == []
    succeeded = {
        json.loads(e["Input"])["account_id"]: json.loads(e["Output"])
        for e in _read(account, files["SUCCEEDED"][0]["Key"])
    }
    caught = succeeded["222222222222"]
    assert caught["account_id"] == "222222222222" and set(caught["failed"]) == {"Error", "Cause"}
    assert caught["failed"]["Error"] == "Lambda.ResourceNotFoundException", caught
    assert MISSING_FUNCTION in caught["failed"]["Cause"]
    assert succeeded["111111111111"] == {"done": "111111111111"}


def test_a_catch_on_the_map_takes_a_map_run_that_exceeded_its_threshold(
    account: LocalAccount, results_bucket: str
) -> None:
    # AWS: States.ExceedToleratedFailureThreshold is the Map state's error, which its Catch takes like any other
    # (States.ALL matches it): the Catch's Next runs with the state's input and {"Error", "Cause"} at its
    # ResultPath, and the run's result files and manifest are written as for a run that completed.
    definition = _map_over_accounts(
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.map_failed", "Next": "Report"}]
    )
    definition["States"]["Report"] = {"Type": "Pass", "End": True}
    done = account.start_execution(_create(account, "caught-map", definition), ACCOUNTS)
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["accounts"] == ACCOUNTS["accounts"]
    assert output["map_failed"]["Error"] == "States.ExceedToleratedFailureThreshold"
    assert "threshold was exceeded" in output["map_failed"]["Cause"]
    listed = account.admin_client("s3").list_objects_v2(Bucket=results_bucket, Prefix="rotate/")["Contents"]
    manifests = [_read(account, o["Key"]) for o in listed if o["Key"].endswith("/manifest.json")]
    (manifest,) = [m for m in manifests if ":mapRun:caught-map/" in m["MapRunArn"]]
    files = manifest["ResultFiles"]
    (failed,) = _read(account, files["FAILED"][0]["Key"])
    assert json.loads(failed["Input"])["account_id"] == "222222222222"


def test_a_catch_or_retry_on_states_all_leaves_a_runtime_error_alone(account: LocalAccount) -> None:
    # AWS: "States.ALL ... can't catch the States.DataLimitExceeded terminal error type and runtime error types": a
    # task's States.Runtime error (here a JSONPath its input does not hold) is neither retried nor caught and fails
    # the execution; moto's States.ALL retried and caught it.
    definition = {
        "StartAt": "Call",
        "States": {
            "Call": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": MISSING_FUNCTION, "Payload": {"x.$": "$.nope"}},
                "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2}],
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.caught", "Next": "Caught"}],
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    waits_before = len(account.retry_waits)
    done = account.start_execution(_create(account, "runtime-error", definition), {})
    assert done["status"] == "FAILED" and done.get("error") == "States.Runtime", done
    assert account.retry_waits[waits_before:] == []


def test_a_missing_function_fails_a_lambda_task_with_lambdas_error(account: LocalAccount) -> None:
    # AWS: Invoke of a function that does not exist is Lambda's ResourceNotFoundException, which the task reports
    # as Lambda.ResourceNotFoundException (retried and caught by States.ALL like any Lambda error).
    done = account.start_execution(_create(account, "missing-function", _failing_task({"MaxAttempts": 0})), {})
    assert done["status"] == "FAILED" and done.get("error") == "Lambda.ResourceNotFoundException", done
    assert MISSING_FUNCTION in done.get("cause", "")


def test_the_map_failure_payload_as_the_interpreter_builds_it_is_one_aggregate_runs_accepts(
    account: LocalAccount, results_bucket: str
) -> None:
    # The stack's AggregateFailedRun payload (tests/infrastructure/test_stack_organization.py pins it), built from
    # the map's caught error and $$.Execution.StartTime (AWS: ISO 8601, e.g. 2019-03-26T20:14:13.192Z).
    from key_lifecycle.models.events import AggregateRunsEvent, ResultWriterPrefix, parse_create_keys_event

    definition = _map_over_accounts(
        Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.map_failed", "Next": "AggregateFailedRun"}]
    )
    definition["States"]["AggregateFailedRun"] = {
        "Type": "Pass",
        "Parameters": {
            "action": "aggregate_runs",
            "job": "rotate",
            "result_writer": {
                "bucket": results_bucket,
                "prefix": "rotate/",
                "written_after.$": "$$.Execution.StartTime",
            },
            "map_failed.$": "$.map_failed",
        },
        "End": True,
    }
    done = account.start_execution(_create(account, "failed-run-payload", definition), ACCOUNTS)
    assert done["status"] == "SUCCEEDED", done
    event = parse_create_keys_event(json.loads(done["output"]))
    assert isinstance(event, AggregateRunsEvent) and event.map_failed is not None
    assert event.map_failed.Error == "States.ExceedToleratedFailureThreshold"
    # AWS: $$.Execution.StartTime is an ISO 8601 string; moto gave its datetime, which no output can carry
    assert isinstance(event.result_writer, ResultWriterPrefix) and event.result_writer.written_after is not None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event.result_writer.written_after)
