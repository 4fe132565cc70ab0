"""Organization mode's settings, payloads and the aggregation of an organization run, without AWS."""

from __future__ import annotations

import json

import pytest

from key_lifecycle.domain.organization import aggregate
from key_lifecycle.models.events import (
    AggregateRunsEvent,
    EventValidationError,
    ListAccountsEvent,
    ResultWriterDetails,
    ResultWriterPrefix,
    parse_cleanup_event,
    parse_create_keys_event,
    parse_rotate_event,
)
from key_lifecycle.models.organization import ChildRun
from key_lifecycle.models.settings import OrganizationSettings, SettingsError

ACCOUNT = "210987654321"


def test_organization_mode_is_off_by_default() -> None:
    settings = OrganizationSettings.from_env({})
    assert not settings.enabled
    assert settings.organization_target_ous == () and settings.organization_exclude_accounts == ()


def test_organization_settings_read_lists_from_the_environment() -> None:
    settings = OrganizationSettings.from_env(
        {
            "ORGANIZATION_ID": "o-abcdef1234",
            "ORGANIZATION_TARGET_OUS": " ou-ab12-cdef3456 , r-ab12,ou-ab12-cdef3456",
            "ORGANIZATION_EXCLUDE_ACCOUNTS": f"{ACCOUNT},",
        }
    )
    assert settings.enabled
    assert settings.organization_target_ous == ("ou-ab12-cdef3456", "r-ab12")
    assert settings.organization_exclude_accounts == (ACCOUNT,)


@pytest.mark.parametrize(
    ("environ", "variable"),
    [
        ({"ORGANIZATION_ID": "o-short"}, "ORGANIZATION_ID"),
        ({"ORGANIZATION_ID": "o-ABCDEF1234"}, "ORGANIZATION_ID"),
        ({"ORGANIZATION_ID": "o-abcdef1234", "ORGANIZATION_TARGET_OUS": "Workloads"}, "ORGANIZATION_TARGET_OUS"),
        ({"ORGANIZATION_ID": "o-abcdef1234", "ORGANIZATION_EXCLUDE_ACCOUNTS": "1234"}, "ORGANIZATION_EXCLUDE_ACCOUNTS"),
        ({"ORGANIZATION_TARGET_OUS": "r-ab12"}, "ORGANIZATION_ID"),
    ],
)
def test_a_bad_organization_setting_is_refused_naming_its_variable(environ: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        OrganizationSettings.from_env(environ)


@pytest.mark.parametrize(
    ("parse", "event"),
    [
        (parse_create_keys_event, {"action": "create_user", "user_name": "u", "owner": "o@example.com"}),
        (parse_create_keys_event, {"action": "reconcile"}),
        (parse_create_keys_event, {"action": "audit"}),
        (parse_create_keys_event, {"action": "report"}),
        (parse_rotate_event, {}),
        (parse_rotate_event, {"user_name": "u", "force": True}),
        (parse_cleanup_event, {}),
        (parse_cleanup_event, {"user_name": "u"}),
    ],
)
def test_every_payload_takes_an_optional_account_id(parse: object, event: dict[str, object]) -> None:
    assert parse(event).account_id is None  # type: ignore[operator]
    assert parse({**event, "account_id": ACCOUNT}).account_id == ACCOUNT  # type: ignore[operator]


@pytest.mark.parametrize("bad", ["12345678901", "1234567890123", "12345678901a", " 210987654321", 210987654321, ""])
@pytest.mark.parametrize(
    ("parse", "event"),
    [
        (parse_create_keys_event, {"action": "create_user", "user_name": "u", "owner": "o@example.com"}),
        (parse_create_keys_event, {"action": "report"}),
        (parse_rotate_event, {}),
        (parse_cleanup_event, {}),
    ],
)
def test_an_account_id_that_is_not_12_digits_is_refused_by_name(parse: object, event: dict, bad: object) -> None:
    with pytest.raises(EventValidationError) as raised:
        parse({**event, "account_id": bad})  # type: ignore[operator]
    assert [p["field"] for p in raised.value.problems] == ["account_id"]


def test_list_accounts_and_aggregate_runs_payloads() -> None:
    assert isinstance(parse_create_keys_event({"action": "list_accounts"}), ListAccountsEvent)
    by_prefix = parse_create_keys_event(
        {"action": "aggregate_runs", "job": "rotate", "result_writer": {"bucket": "runs", "prefix": "rotate/"}}
    )
    assert isinstance(by_prefix, AggregateRunsEvent) and isinstance(by_prefix.result_writer, ResultWriterPrefix)
    by_manifest = parse_create_keys_event(
        {
            "action": "aggregate_runs",
            "job": "cleanup",
            "result_writer": {"Bucket": "runs", "Key": "cleanup/1f0e/manifest.json"},
        }
    )
    assert isinstance(by_manifest, AggregateRunsEvent) and isinstance(by_manifest.result_writer, ResultWriterDetails)


# The map state's Catch: the results under the job's prefix written since the execution began, and the map's error.
MAP_FAILED = {
    "action": "aggregate_runs",
    "job": "rotate",
    "result_writer": {"bucket": "runs", "prefix": "rotate/", "written_after": "2026-01-05T10:00:00.123Z"},
    "map_failed": {
        "Error": "States.ExceedToleratedFailureThreshold",
        "Cause": "The specified tolerated failure threshold was exceeded",
    },
}


def test_the_map_failure_payload_is_read_as_the_map_states_caught_error() -> None:
    event = parse_create_keys_event(MAP_FAILED)
    assert isinstance(event, AggregateRunsEvent) and isinstance(event.result_writer, ResultWriterPrefix)
    assert event.result_writer.written_after == "2026-01-05T10:00:00.123Z"
    assert event.map_failed is not None and event.map_failed.Error == "States.ExceedToleratedFailureThreshold"
    # Step Functions may give no Cause
    bare = parse_create_keys_event({**MAP_FAILED, "map_failed": {"Error": "States.Runtime"}})
    assert isinstance(bare, AggregateRunsEvent) and bare.map_failed is not None and bare.map_failed.Cause == ""


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "aggregate_runs", "job": "deploy", "result_writer": {"bucket": "runs"}}, "job"),
        ({"action": "aggregate_runs", "job": "rotate"}, "result_writer"),
        ({"action": "list_accounts", "account_id": ACCOUNT}, "account_id"),
        ({**MAP_FAILED, "map_failed": {"Error": "States.Runtime", "Cause": "c", "extra": 1}}, "map_failed"),
        ({**MAP_FAILED, "map_failed": {"Cause": "no error named"}}, "map_failed"),
        ({**MAP_FAILED, "map_failed": "States.Runtime"}, "map_failed"),
        ({**MAP_FAILED, "result_writer": {"bucket": "runs", "written_after": "yesterday"}}, "result_writer"),
        ({**MAP_FAILED, "result_writer": {"bucket": "runs", "written_after": 1767600000}}, "result_writer"),
    ],
)
def test_bad_organization_payloads_name_the_field(event: dict[str, object], field: str) -> None:
    with pytest.raises(EventValidationError) as raised:
        parse_create_keys_event(event)
    assert {p["field"].split(".")[0] for p in raised.value.problems} == {field}


def _report(actions: list[dict[str, object]], warnings: list[dict[str, object]] = ()) -> dict[str, object]:  # type: ignore[assignment]
    return {"function": "rotate_keys", "dry_run": False, "actions": actions, "warnings": list(warnings), "errors": []}


def test_aggregate_names_accounts_done_and_failed_with_their_reasons() -> None:
    action = {"user_name": "u", "action": "create_key", "reason": "r", "status": "done"}
    warning = {"user_name": "v", "code": "key_over_max_age", "message": "m"}
    cause = json.dumps({"errorType": "AwsError", "errorMessage": "AssumeRole failed: AccessDenied"})
    runs = [
        ChildRun(account_id="222222222222", status="SUCCEEDED", output=_report([action], [warning])),
        ChildRun(account_id="111111111111", status="SUCCEEDED", output={"Payload": _report([]), "StatusCode": 200}),
        ChildRun(account_id="333333333333", status="FAILED", error="States.TaskFailed", cause=cause),
        ChildRun(account_id="444444444444", status="SUCCEEDED", output={"unexpected": True}),
        ChildRun(account_id="555555555555", status="PENDING"),
        # A Lambda task's failure as Step Functions records it: the error is the function's errorType
        ChildRun(account_id="666666666666", status="FAILED", error="AwsError", cause=cause),
    ]
    section, errors, dry_run = aggregate("rotate", runs)
    assert section["accounts"] == 6
    assert section["accounts_done"] == ["111111111111", "222222222222"]
    assert section["accounts_failed"] == [
        {"account_id": "333333333333", "reason": "States.TaskFailed: AwsError: AssumeRole failed: AccessDenied"},
        {"account_id": "444444444444", "reason": "its output is not a run report"},
        {"account_id": "555555555555", "reason": "not run: the map run ended before this account"},
        {"account_id": "666666666666", "reason": "AwsError: AssumeRole failed: AccessDenied"},
    ]
    assert section["actions"] == [{"account_id": "222222222222", **action}]
    assert section["warnings"] == [{"account_id": "222222222222", **warning}]
    assert errors == [] and dry_run is False


def test_a_caught_account_failure_is_that_account_failed_with_the_same_reason() -> None:
    # Given the item processor's Catch: the child completed with {"account_id", "failed": {"Error", "Cause"}}
    cause = json.dumps({"errorType": "AwsError", "errorMessage": "AssumeRole failed: AccessDenied", "trace": []})
    caught = {"account_id": "333333333333", "failed": {"Error": "AwsError", "Cause": cause}}
    runs = [
        ChildRun(account_id="111111111111", status="SUCCEEDED", output=_report([])),
        ChildRun(account_id="333333333333", status="SUCCEEDED", output=caught),
        ChildRun(account_id="444444444444", status="SUCCEEDED", output={"account_id": "4", "failed": {}}),
    ]
    section, errors, _ = aggregate("rotate", runs)
    # Then it is named failed with the wording of an uncaught failure; the others are done
    assert section["accounts_done"] == ["111111111111"]
    assert section["accounts_failed"] == [
        {"account_id": "333333333333", "reason": "AwsError: AssumeRole failed: AccessDenied"},
        {"account_id": "444444444444", "reason": "FAILED"},
    ]
    assert errors == [] and "map_failed" not in section


def test_a_failed_map_run_is_reported_first_beside_the_accounts_it_reached() -> None:
    runs = [ChildRun(account_id="111111111111", status="SUCCEEDED", output=_report([]))]
    error, cause = "States.ExceedToleratedFailureThreshold", "The specified tolerated failure threshold was exceeded"
    section, errors, _ = aggregate("cleanup", runs, (error, cause))
    assert section["map_failed"] == {"error": error, "reason": f"{error}: {cause}"}
    assert errors == [f"the map run over the accounts failed: {error}: {cause}"]
    assert section["accounts_done"] == ["111111111111"] and section["accounts_failed"] == []
