"""Manual and scheduled payloads: every documented example accepted, bad ones refused with the field named."""

from __future__ import annotations

from typing import Any

import pytest

from key_lifecycle.models.events import (
    AdviseEvent,
    CreateUserEvent,
    EventValidationError,
    ReconcileEvent,
    RotateEvent,
    parse_cleanup_event,
    parse_create_keys_event,
    parse_rotate_event,
)

CREATE_EXAMPLE = {
    "action": "create_user",
    "user_name": "temporary-iam-user",
    "owner": "platform-team@example.com",
    "ttl_days": 7,
    "dry_run": False,
}


def problem_fields(error: EventValidationError) -> list[str]:
    return [p["field"] for p in error.problems]


# --- the documented examples ----------------------------------------------------------------------------------------


def test_the_create_user_example_is_accepted() -> None:
    event = parse_create_keys_event(CREATE_EXAMPLE)
    assert isinstance(event, CreateUserEvent)
    assert (event.user_name, event.owner, event.ttl_days, event.dry_run) == (
        "temporary-iam-user",
        "platform-team@example.com",
        7,
        False,
    )


def test_a_create_user_with_only_the_required_fields_and_a_purpose_is_accepted() -> None:
    event = parse_create_keys_event(
        {"action": "create_user", "user_name": "ci+deploy=1.a.b@c_d-e", "owner": "Jane Doe", "purpose": "CI: deploys"}
    )
    assert isinstance(event, CreateUserEvent)
    assert (event.ttl_days, event.dry_run, event.purpose) == (None, None, "CI: deploys")


@pytest.mark.parametrize("payload", [{"action": "reconcile"}, {"action": "reconcile", "dry_run": True}])
def test_the_reconcile_schedule_input_is_accepted(payload: dict[str, Any]) -> None:
    assert isinstance(parse_create_keys_event(payload), ReconcileEvent)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({}, (None, False, None)),
        (None, (None, False, None)),
        ({"dry_run": True}, (None, False, True)),
        ({"user_name": "x", "force": True}, ("x", True, None)),
    ],
)
def test_the_rotate_examples_are_accepted(payload: dict[str, Any] | None, expected: tuple[object, ...]) -> None:
    event = parse_rotate_event(payload)
    assert (event.user_name, event.force, event.dry_run) == expected


@pytest.mark.parametrize(
    ("payload", "expected"),
    [({}, (None, None)), (None, (None, None)), ({"dry_run": True}, (None, True)), ({"user_name": "x"}, ("x", None))],
)
def test_the_cleanup_examples_are_accepted(payload: dict[str, Any] | None, expected: tuple[object, ...]) -> None:
    event = parse_cleanup_event(payload)
    assert (event.user_name, event.dry_run) == expected


# --- bad payloads ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"user_name": ""}, "user_name"),
        ({"user_name": "a" * 65}, "user_name"),
        ({"user_name": "bad name"}, "user_name"),
        ({"user_name": "bad/name"}, "user_name"),
        ({"user_name": "naïve"}, "user_name"),
        ({"user_name": 7}, "user_name"),
        ({"owner": ""}, "owner"),
        ({"owner": "   "}, "owner"),
        ({"owner": "a" * 257}, "owner"),
        ({"owner": "x<script>"}, "owner"),
        ({"owner": "alice<bob"}, "owner"),
        ({"owner": "alice\x00bob"}, "owner"),
        ({"owner": "alice\u202ebob"}, "owner"),
        ({"purpose": "right\u202eto left"}, "purpose"),
        ({"user_name": "a,b"}, "user_name"),
        ({"ttl_days": 0}, "ttl_days"),
        ({"ttl_days": -3}, "ttl_days"),
        ({"ttl_days": "7"}, "ttl_days"),
        ({"ttl_days": 7.5}, "ttl_days"),
        ({"ttl_days": True}, "ttl_days"),
        ({"dry_run": "false"}, "dry_run"),
        ({"dry_run": 0}, "dry_run"),
        ({"purpose": "a" * 257}, "purpose"),
        ({"purpose": "tab\there"}, "purpose"),
        ({"force": True}, "force"),
        ({"secret_access_key": "x"}, "secret_access_key"),
    ],
)
def test_a_bad_create_user_field_is_named(change: dict[str, Any], field: str) -> None:
    # Given the documented example with one bad or unknown field
    payload = {**CREATE_EXAMPLE, **change}
    # When parsed / Then EventValidationError names that field, and only that field
    with pytest.raises(EventValidationError) as caught:
        parse_create_keys_event(payload)
    assert problem_fields(caught.value) == [field]
    assert field in str(caught.value)


@pytest.mark.parametrize("missing", ["user_name", "owner"])
def test_a_missing_required_create_user_field_is_named(missing: str) -> None:
    payload = {k: v for k, v in CREATE_EXAMPLE.items() if k != missing}
    with pytest.raises(EventValidationError) as caught:
        parse_create_keys_event(payload)
    assert problem_fields(caught.value) == [missing]


@pytest.mark.parametrize(
    "payload",
    [{}, {"user_name": "x"}, {"action": "delete_user"}, {"action": 1}],
    ids=["empty", "no-action", "unknown", "int"],
)
def test_a_create_keys_payload_without_a_known_action_names_the_action(payload: dict[str, Any]) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_create_keys_event(payload)
    assert problem_fields(caught.value) == ["action"]


def test_reconcile_refuses_create_user_fields() -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_create_keys_event({"action": "reconcile", "user_name": "x"})
    assert problem_fields(caught.value) == ["user_name"]


@pytest.mark.parametrize("event", [None, [], "reconcile", 42])
def test_a_create_keys_event_that_is_not_an_object_is_refused(event: object) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_create_keys_event(event)
    assert problem_fields(caught.value) == ["event"]


@pytest.mark.parametrize("parse", [parse_rotate_event, parse_cleanup_event])
@pytest.mark.parametrize("event", [[], "x", 1])
def test_a_rotate_or_cleanup_event_that_is_not_an_object_is_refused(parse: Any, event: object) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse(event)
    assert problem_fields(caught.value) == ["event"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"user_name": ""}, "user_name"),
        ({"user_name": "x" * 65}, "user_name"),
        ({"user_name": "a b"}, "user_name"),
        ({"user_name": None, "force": "yes"}, "force"),
        ({"force": 1}, "force"),
        ({"dry_run": "true"}, "dry_run"),
        ({"action": "rotate"}, "action"),
        ({"users": ["x"]}, "users"),
    ],
)
def test_a_bad_rotate_field_is_named(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_rotate_event(payload)
    assert problem_fields(caught.value) == [field]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"user_name": ""}, "user_name"),
        ({"user_name": "x/y"}, "user_name"),
        ({"user_name": 3}, "user_name"),
        ({"dry_run": "no"}, "dry_run"),
        ({"force": True}, "force"),
    ],
)
def test_a_bad_cleanup_field_is_named(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(EventValidationError) as caught:
        parse_cleanup_event(payload)
    assert problem_fields(caught.value) == [field]


def test_a_validation_error_never_echoes_the_bad_value() -> None:
    # Given a caller pasting a secret into an unknown field
    payload = {**CREATE_EXAMPLE, "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}
    # When refused / Then neither the message nor the problems carry the value
    with pytest.raises(EventValidationError) as caught:
        parse_create_keys_event(payload)
    assert "wJalrXUtnFEMI" not in str(caught.value)
    assert "wJalrXUtnFEMI" not in repr(caught.value.problems)


def test_the_rotate_function_tells_an_advise_request_from_a_rotation() -> None:
    assert isinstance(parse_rotate_event({"action": "advise"}), AdviseEvent)
    assert parse_rotate_event({"action": "advise", "user_name": "ci-deployer"}).user_name == "ci-deployer"
    assert isinstance(parse_rotate_event({}), RotateEvent) and isinstance(parse_rotate_event(None), RotateEvent)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"action": "advice"}, "action"),
        ({"action": "advise", "user_name": "bad name!"}, "user_name"),
        ({"action": "advise", "force": True}, "force"),  # a rotation's field is not an advise request's
        ({"action": "advise", "account_id": "12345"}, "account_id"),
    ],
)
def test_a_bad_advise_request_names_its_field(payload: dict[str, Any], field: str) -> None:
    with pytest.raises(EventValidationError) as refused:
        parse_rotate_event(payload)
    assert [p["field"] for p in refused.value.problems] == [field]
