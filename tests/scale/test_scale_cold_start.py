"""The snapshot and report dataclasses: copies with changes, case-insensitive lookup, and the report as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Plan, Report
from key_lifecycle.models.snapshot import AccountSnapshot, SecretVersionState, UserState


def user(name: str, **changes: Any) -> UserState:
    values: dict[str, Any] = {
        "user_name": name,
        "arn": f"arn:aws:iam::123456789012:user/temporary/{name}",
        "path": "/temporary/",
        "create_date": datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC),
    }
    return UserState(**{**values, **changes})


def test_a_snapshot_copy_with_changes_leaves_the_original_as_it_was() -> None:
    # Given a user read with some tags
    tags = {"owner": "team"}
    original = user("alice", tags=tags, groups=["readers"])
    # When the caller's dict changes afterwards, and a copy is made with other tags
    tags["owner"] = "someone else"
    copy = original.model_copy(update={"tags": {"owner": "other"}})
    # Then the snapshot kept what was read (tuples where lists were given), and the copy has its own tags
    assert original.tags == {"owner": "team"} and original.groups == ("readers",)
    assert copy.tags == {"owner": "other"} and copy.user_name == "alice"
    with pytest.raises(AttributeError):
        original.path = "/"  # type: ignore[misc]


def test_a_user_is_found_whatever_the_case_of_its_name_and_the_first_of_two_variants_wins() -> None:
    first, second = user("Alice"), user("alice", user_id="other")
    snapshot = AccountSnapshot(users=[first, second, user("bob")])  # type: ignore[arg-type]
    assert snapshot.find("ALICE") is first
    assert snapshot.find("Bob") is not None and snapshot.find("carol") is None
    assert snapshot == AccountSnapshot(users=(first, second, user("bob")))


def test_a_secret_version_names_its_key_only_for_a_key_id() -> None:
    assert SecretVersionState(version_id="AKIAEXAMPLE-" + "0" * 32).access_key_id == "AKIAEXAMPLE"
    assert SecretVersionState(version_id="a1b2c3").access_key_id is None


def test_a_report_as_json_holds_plain_values() -> None:
    # Given a report of a planned action (its kind given as text) and a change detail with a time in it
    planned = Action(user_name="alice", action="delete_key", reason="old", access_key_id="AKIA1")  # type: ignore[arg-type]
    plan = Plan(actions=[planned])
    report = Report(
        function="rotate_keys", dry_run=True, actions=plan.actions, change={"at": datetime(2025, 1, 2, tzinfo=UTC)}
    )
    # When the report grows and is turned into JSON
    report.actions.append(Action(user_name="bob", action=ActionKind.DELETE_USER, reason="expired"))
    body = report.model_dump(mode="json")
    # Then the plan kept its own list, enums are their values and times ISO strings, as pydantic wrote them
    assert len(plan.actions) == 1 and plan.actions[0].action is ActionKind.DELETE_KEY
    assert body["actions"][0] == {
        "user_name": "alice",
        "action": "delete_key",
        "reason": "old",
        "access_key_id": "AKIA1",
        "status": "planned",
        "detail": None,
    }
    assert body["change"] == {"at": "2025-01-02T00:00:00Z"}
    assert json.loads(json.dumps(body)) == body
    assert plan.actions[0].model_copy() == plan.actions[0] and plan.actions[0].status is ActionStatus.PLANNED
