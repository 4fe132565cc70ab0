"""The notices: conditions compared across runs, and messages within SNS's limits. Pure, no AWS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from key_lifecycle.domain import notices
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Warning

NOW = datetime(2030, 1, 10, 9, tzinfo=UTC)


def warning(code: str, user: str | None = "ci", key: str | None = None, message: str = "it is so") -> Warning:
    return Warning(user_name=user, code=code, message=message, access_key_id=key)


def test_forewarnings_and_detected_changes_are_not_conditions() -> None:
    seen = notices.conditions_of(
        [warning("forewarn:user-expiry"), warning("change:out_of_band_key"), warning("unmanaged_in_path")],
        {"ci": "alice@example.com"},
        NOW,
    )
    assert [c.code for c in seen.values()] == ["unmanaged_in_path"]
    assert next(iter(seen.values())).owner == "alice@example.com"


def test_open_unchanged_cleared() -> None:
    # Given a condition first seen on day 1
    day1 = notices.conditions_of([warning("deactivation_postponed", key="AKIA1", message="97 days")], {}, NOW)
    first = notices.compare({}, day1)
    assert [c.id for c in first.opened] == list(day1) and first.cleared == []
    # When the next run sees it again, worded differently (its numbers move)
    day2 = notices.conditions_of(
        [warning("deactivation_postponed", key="AKIA1", message="98 days")], {}, NOW + timedelta(days=1)
    )
    second = notices.compare(first.still_open, day2)
    # Then nothing opened or cleared, and it keeps the time it first opened
    assert second.opened == [] and second.cleared == []
    assert next(iter(second.still_open.values())).opened_at == "2030-01-10T09:00:00Z"
    # When a run no longer sees it, it clears
    third = notices.compare(second.still_open, {})
    assert [c.message for c in third.cleared] == ["98 days"] and third.still_open == {}


def test_the_same_warning_on_another_key_is_another_condition() -> None:
    seen = notices.conditions_of(
        [warning("key_without_secret", key="AKIA1"), warning("key_without_secret", key="AKIA2")], {}, NOW
    )
    assert len(seen) == 2


def test_subjects_follow_sns_rules_whatever_the_names_hold() -> None:
    # A subject is ASCII printable, single-line and at most 100 characters, even from odd text
    subject = notices.plain_subject("IAM keys: new warning on user caf\u00e9\nsecond line\t" + "x" * 300)
    assert len(subject) <= 100
    assert all(0x20 <= ord(ch) <= 0x7E for ch in subject)
    assert subject.endswith("...")


def test_a_huge_run_fits_in_one_sns_message() -> None:
    # Given a run that deleted 5,000 users of one owner and opened 5,000 conditions
    audience = notices.Audience(
        done=[
            Action(
                user_name=f"user-{i:05d}",
                action=ActionKind.DELETE_USER,
                reason="expired " + "x" * 100,
                status=ActionStatus.DONE,
            )
            for i in range(5000)
        ],
        opened=list(
            notices.conditions_of(
                [warning("unmanaged_in_path", user=f"hand-{i:05d}", message="y" * 200) for i in range(5000)], {}, NOW
            ).values()
        ),
    )
    # When it is written as one message
    subject, body = notices.render(
        audience, owner="alice@example.com", source="cleanup", function="cleanup_users", now=NOW, account_id=None
    )
    # Then it fits SNS's limits and says how many were left out and where the rest is
    assert len(body.encode()) <= notices.MESSAGE_MAX_BYTES < 256 * 1024
    assert len(subject) <= 100
    assert "more (the full list is in the function's logs)" in body
    assert subject == "IAM keys (cleanup) for alice@example.com: 5000 changes done, 5000 new warnings"


def test_a_message_says_what_happened_why_and_what_to_do() -> None:
    audience = notices.Audience(
        done=[
            Action(
                user_name="ci",
                action=ActionKind.DEACTIVATE_KEY,
                access_key_id="AKIA1",
                reason="replaced on 2030-01-01 and unused since",
                status=ActionStatus.DONE,
            )
        ],
        opened=list(notices.conditions_of([warning("deactivation_postponed", key="AKIA2")], {}, NOW).values()),
    )
    subject, body = notices.render(
        audience, owner="alice@example.com", source="rotate", function="rotate_keys", now=NOW, account_id="111"
    )
    assert subject == "IAM keys (rotate) for alice@example.com: 1 change done, 1 new warning"
    assert "- user ci, key AKIA1: access key deactivated. Why: replaced on 2030-01-01 and unused since." in body
    assert "What to do: move every consumer to the user's current key" in body
    assert "exempt-until=<ISO date>" in body
    assert "in account 111" in body


def test_a_warning_that_comes_with_an_action_is_told_with_it_never_held_open() -> None:
    warnings = [warning("hard_cap_deactivated", key="AKIA1"), warning("deactivation_postponed", key="AKIA2")]
    assert [c.code for c in notices.conditions_of(warnings, {}, NOW).values()] == ["deactivation_postponed"]
    assert [c.code for c in notices.conditions_of(warnings, {}, NOW, events=True).values()] == ["hard_cap_deactivated"]
