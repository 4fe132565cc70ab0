"""The demo's timeline, summary, report and picture, built from synthetic invocation records (no emulator)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from local_account import timeline, timeline_png

START = datetime(2025, 1, 6, 10, 0, tzinfo=UTC)  # a Monday
OLD_KEY = "AKIAOLDOLDOLDOLD0001"
NEW_KEY = "AKIANEWNEWNEWNEW0002"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@dataclass
class FakeInvocation:
    time: datetime
    function: str
    source: str
    event: Any
    result: Any
    duration_s: float = 0.05
    log_lines: list[str] = field(default_factory=list)
    schedule: str | None = None


def action(user: str, kind: str, key: str | None = None, status: str = "done", reason: str = "because") -> dict:
    return {"user_name": user, "action": kind, "access_key_id": key, "reason": reason, "status": status, "detail": None}


def warning(user: str, code: str, key: str | None = None, message: str | None = None) -> dict:
    return {"user_name": user, "code": code, "message": message or f"{code} message", "access_key_id": key}


def run(day: float, function: str, actions=(), warnings=(), errors=(), source="schedule", **extra) -> FakeInvocation:
    result = {"function": function, "dry_run": False, "actions": list(actions), "warnings": list(warnings)}
    result["errors"] = list(errors)
    result.update(extra)
    return FakeInvocation(START + timedelta(days=day), function, source, {}, result)


def rotation_story() -> list[FakeInvocation]:
    """A user created by hand, rotated at day 90, its old key still used for a while, deactivated, deleted."""
    user = "temporary-iam-user"
    return [
        run(
            0,
            "create_keys",
            [action(user, "create_user"), action(user, "create_key")],
            source="manual",
            access_key_id=OLD_KEY,
            user_arn="arn:aws:iam::123456789012:user/temporary/temporary-iam-user",
        ),
        run(90, "rotate_keys", [action(user, "create_key", NEW_KEY), action(user, "verify_key", NEW_KEY, "planned")]),
        run(97, "rotate_keys", warnings=[warning(user, "deactivation_postponed", OLD_KEY, "used; 97 days old")]),
        run(98, "rotate_keys", warnings=[warning(user, "deactivation_postponed", OLD_KEY, "used; 98 days old")]),
        run(99, "rotate_keys", warnings=[warning(user, "deactivation_postponed", OLD_KEY, "used; 99 days old")]),
        run(
            120,
            "rotate_keys",
            [action(user, "deactivate_key", OLD_KEY)],
            [warning(user, "hard_cap_deactivated", OLD_KEY)],
        ),
        run(127, "rotate_keys", [action(user, "delete_key", OLD_KEY)]),
        run(366, "cleanup_users", [action(user, "delete_user"), action(user, "delete_secret")]),
    ]


# --- timeline rows ---------------------------------------------------------------------------------------------------


def test_only_applied_or_failed_actions_become_rows_and_a_create_takes_its_key_from_the_report() -> None:
    # Given a manual create whose create_key action carries no key id, and a planned (not applied) action
    invocations = rotation_story()

    # When the timeline is built
    rows = timeline.timeline_rows(invocations, START)

    # Then the create's key row names the key from the report, and the planned verify_key is absent
    create_key = [r for r in rows if r.action == "create_key"]
    assert [r.access_key_id for r in create_key] == [OLD_KEY, NEW_KEY]
    assert create_key[0].source == "manual"
    assert not [r for r in rows if r.action == "verify_key"]
    assert [r.day for r in rows if r.action == "delete_user"] == [366]


def test_a_warning_repeated_by_consecutive_runs_is_one_row_with_its_count_and_last_day() -> None:
    # Given the same postponement warning in three consecutive rotate runs
    rows = timeline.timeline_rows(rotation_story(), START)

    # When the warning rows are read
    postponed = [r for r in rows if r.action == "deactivation_postponed"]

    # Then there is one row, first seen on day 97, repeated 3 times until day 99
    assert len(postponed) == 1
    assert (postponed[0].day, postponed[0].repeats, postponed[0].last_day) == (97, 3, 99)
    assert postponed[0].status == timeline.WARNING


def test_a_weekly_schedule_repeats_itself_even_with_daily_runs_of_the_same_function_in_between() -> None:
    # Given a weekly audit schedule and a daily reconcile schedule of one function; the audit warns every week
    invocations = []
    for day in range(15):
        daily = run(day, "create_keys")
        daily.schedule = "reconcile"
        invocations.append(daily)
        if day % 7 == 0:
            weekly = run(day + 0.1, "create_keys", warnings=[warning("u", "audit:direct_user_policy")])
            weekly.schedule = "audit"
            invocations.append(weekly)

    # When the timeline is built
    rows = timeline.timeline_rows(invocations, START)

    # Then the three weekly warnings are one row
    assert [(r.day, r.repeats, r.last_day) for r in rows] == [(0, 3, 14)]


def test_two_warnings_alike_in_every_run_are_two_rows_each_repeated() -> None:
    # Given every run warning twice with the same code for one user and no key (two unused credentials)
    alike = [warning("u", "unused", None, "key unused"), warning("u", "unused", None, "pw")]
    invocations = [run(day, "create_keys", warnings=alike) for day in range(4)]

    # When the timeline is built
    rows = timeline.timeline_rows(invocations, START)

    # Then there are two rows, each repeated by the four runs
    assert [(r.reason, r.repeats, r.last_day) for r in rows] == [("key unused", 4, 3), ("pw", 4, 3)]


def test_a_warning_that_stops_and_comes_back_starts_a_new_row() -> None:
    # Given a warning, then a run without it, then the warning again
    user = "u"
    invocations = [
        run(1, "rotate_keys", warnings=[warning(user, "two_active_keys", OLD_KEY)]),
        run(2, "rotate_keys"),
        run(3, "rotate_keys", warnings=[warning(user, "two_active_keys", OLD_KEY)]),
    ]

    # When the timeline is built
    rows = timeline.timeline_rows(invocations, START)

    # Then each streak has its own row
    assert [(r.day, r.repeats) for r in rows] == [(1, 1), (3, 1)]


def test_a_failure_repeated_the_same_way_by_consecutive_runs_is_one_row_and_a_new_failure_is_another() -> None:
    # Given three cleanup runs failing one deletion: twice the same way (reasons differ by day counts), then otherwise
    def failing(day: int, detail: str) -> FakeInvocation:
        failed = action("u", "delete_user", status="failed", reason=f"expired {day} days ago")
        failed["detail"] = detail
        return run(day, "cleanup_users", [failed])

    invocations = [failing(11, "AccessDenied"), failing(12, "AccessDenied"), failing(13, "DeleteConflict")]

    # When the timeline is built
    rows = timeline.timeline_rows(invocations, START)

    # Then the first two are one row repeated twice, the third its own row
    assert [(r.day, r.repeats, r.last_day) for r in rows] == [(11, 2, 12), (13, 1, None)]
    assert rows[0].reason == "expired 11 days ago — AccessDenied"


def test_failed_actions_and_run_errors_are_rows_with_their_detail() -> None:
    # Given a run with a failed deletion and a run error
    failed = action("u", "delete_user", status="failed")
    failed["detail"] = "DeleteConflict: must delete login profile first"
    invocations = [run(5, "cleanup_users", [failed], errors=["ThrottlingException after 10 attempts"])]

    # When the timeline is built and printed
    rows = timeline.timeline_rows(invocations, START)
    text = timeline.format_timeline(rows, reason_width=200)

    # Then both are shown, marked as failures, with the detail
    assert [r.status for r in rows] == [timeline.FAILED, timeline.ERROR]
    assert "delete user FAILED" in text
    assert "DeleteConflict" in text
    assert "ThrottlingException" in text


def test_a_run_without_a_report_is_an_error_row_and_draws_no_key() -> None:
    # Given a handler that raised (the runtime's error document) and one that returned a plain string
    crashed = {"errorType": "ThrottlingException", "errorMessage": "Rate exceeded", "stackTrace": []}
    invocations = [
        FakeInvocation(START, "rotate_keys", "schedule", {}, crashed),
        FakeInvocation(START + timedelta(days=1), "cleanup_users", "manual", {}, "Task timed out"),
    ]

    # When the timeline and the key lives are built
    rows = timeline.timeline_rows(invocations, START)

    # Then each is one error row saying why, and no key is drawn
    assert [(r.function, r.status, r.reason) for r in rows] == [
        ("rotate_keys", timeline.ERROR, "ThrottlingException: Rate exceeded"),
        ("cleanup_users", timeline.ERROR, "returned str, not a report"),
    ]
    assert timeline.key_spans(invocations) == []


def test_the_terminal_timeline_has_day_date_function_user_action_key_and_marks_warnings() -> None:
    # Given the rotation story
    rows = timeline.timeline_rows(rotation_story(), START)

    # When it is printed
    lines = timeline.format_timeline(rows).splitlines()

    # Then the header names the columns, a deletion line carries day, date and key, and warnings carry "!"
    assert lines[0].split() == ["day", "date", "function", "user", "action", "key", "reason"]
    delete = next(line for line in lines if "delete key" in line)
    assert delete.split()[:3] == ["127", "2025-05-13", "rotate_keys"]
    assert OLD_KEY in delete
    postponed = next(line for line in lines if "deactivation_postponed" in line)
    assert " ! " in postponed
    assert "[3 runs in a row, to day 99]" in postponed
    assert "[manual]" in next(line for line in lines if "create user" in line)


def test_merged_rows_interleave_sources_as_they_happened_within_one_moment() -> None:
    # Given the rotation story (its day-90 rotate run is invocation 1) and story rows noted at day 90 before and
    # after that run (order = 2 * invocations so far), and one on day 1
    rows = timeline.timeline_rows(rotation_story(), START)
    at_90 = START + timedelta(days=90)
    story = [
        timeline.TimelineRow(90, at_90, "consumer", "story", "u", "uses key", NEW_KEY, "", "done", order=4),
        timeline.TimelineRow(90, at_90, "consumer", "story", "u", "reads secret", OLD_KEY, "", "done", order=2),
        timeline.TimelineRow(1, START + timedelta(days=1), "story", "story", "x", "note", None, "", "done", order=2),
    ]

    # When merged
    merged = timeline.merge_rows(rows, story)

    # Then times never go backwards, and at day 90 the rows follow what happened: read, rotate, use
    times = [r.time for r in merged]
    assert times == sorted(times)
    assert [r.action for r in merged if r.time == at_90] == ["reads secret", "create_key", "uses key"]
    assert [r.action for r in merged][:3] == ["create_user", "create_key", "note"]


# --- key lives and summary -------------------------------------------------------------------------------------------


def test_key_spans_follow_creation_rotation_postponement_deactivation_deletion_and_user_deletion() -> None:
    # Given the rotation story
    spans = {span.access_key_id: span for span in timeline.key_spans(rotation_story())}

    # Then the first key is not a rotation, was postponed from day 97, deactivated day 120 and deleted day 127
    old, new = spans[OLD_KEY], spans[NEW_KEY]
    assert not old.rotation
    assert old.postponed_from == START + timedelta(days=97)
    assert old.deactivated == START + timedelta(days=120)
    assert old.deleted == START + timedelta(days=127)
    assert old.user_deleted is None
    # And the replacement is a rotation that ended with its user on day 366
    assert new.rotation
    assert new.created == START + timedelta(days=90)
    assert new.deleted is None
    assert new.user_deleted == START + timedelta(days=366)
    assert new.user_deleted_reason == "because"


def test_a_user_deletion_does_not_touch_keys_of_other_users_or_keys_already_deleted() -> None:
    # Given two users, one of whose keys was deleted before its user
    invocations = [
        run(0, "create_keys", [action("a", "create_key", "AKIAAAAAAAAAAAAAAAA1")]),
        run(0, "create_keys", [action("b", "create_key", "AKIABBBBBBBBBBBBBBB1")]),
        run(5, "rotate_keys", [action("a", "delete_key", "AKIAAAAAAAAAAAAAAAA1")]),
        run(9, "cleanup_users", [action("a", "delete_user")]),
    ]

    # When the key lives are built
    spans = {span.access_key_id: span for span in timeline.key_spans(invocations)}

    # Then a's key ended by its own deletion and b's key is still alive
    assert spans["AKIAAAAAAAAAAAAAAAA1"].deleted == START + timedelta(days=5)
    assert spans["AKIAAAAAAAAAAAAAAAA1"].user_deleted is None
    assert spans["AKIABBBBBBBBBBBBBBB1"].ended is None


def test_the_summary_counts_actions_users_rotations_postponements_and_the_hard_cap() -> None:
    # Given the rotation story and an invariant that held
    invocations = rotation_story()
    rows = timeline.timeline_rows(invocations, START)
    spans = timeline.key_spans(invocations)
    held = timeline.Invariant("ok", "always true")
    held.check(True, "never")

    # When summarized
    summary = timeline.summarize(
        invocations, rows, spans, [held], start=START, end=START + timedelta(days=400), wall_time_s=42.0
    )

    # Then every figure matches the story
    assert summary["days"] == 400
    assert summary["invocations"] == 8
    assert summary["invocations_by_source"] == {"manual": 1, "schedule": 7}
    assert summary["actions_done"] == {
        "create_key": 2,
        "create_user": 1,
        "deactivate_key": 1,
        "delete_key": 1,
        "delete_secret": 1,
        "delete_user": 1,
    }
    assert summary["users_created"] == ["temporary-iam-user"]
    assert summary["users_deleted"] == ["temporary-iam-user"]
    assert (summary["keys_created"], summary["rotations"]) == (2, 1)
    assert (summary["postponements"], summary["keys_postponed"], summary["deactivated_after_postponement"]) == (3, 1, 1)
    assert summary["warnings"] == {"deactivation_postponed": 3, "hard_cap_deactivated": 1}
    assert summary["invariants_ok"] is True


def test_one_broken_invariant_makes_the_summary_not_ok_and_is_printed_with_its_failure() -> None:
    # Given one invariant that held and one that broke
    held = timeline.Invariant("a", "first property")
    held.check(True, "unused")
    broken = timeline.Invariant("b", "second property")
    broken.check(False, "day 12: user x has no AWSCURRENT secret")

    # When summarized and printed
    summary = timeline.summarize([], [], [], [held, broken], start=START, end=START, wall_time_s=1.0)
    text = timeline.format_summary(summary, [held, broken])

    # Then the summary is not ok and the failure is shown under its invariant
    assert summary["invariants_ok"] is False
    assert "OK   first property (1 checks)" in text
    assert "FAIL second property (1 checks)" in text
    assert "day 12: user x has no AWSCURRENT secret" in text


# --- report.json and secrets -----------------------------------------------------------------------------------------


def test_the_report_holds_summary_invariants_timeline_keys_and_inventory() -> None:
    # Given a summarized story and an inventory
    invocations = rotation_story()
    rows = timeline.timeline_rows(invocations, START)
    spans = timeline.key_spans(invocations)
    invariant = timeline.Invariant("working_current_key", "works")
    invariant.check(True, "")
    summary = timeline.summarize(invocations, rows, spans, [invariant], start=START, end=START, wall_time_s=1.0)
    inventory = {"users": [{"user_name": "temporary-iam-user", "keys": [{"access_key_id": NEW_KEY}]}]}

    # When the report is written as JSON
    document = json.loads(
        timeline.report_json(summary=summary, rows=rows, spans=spans, invariants=[invariant], inventory=inventory)
    )

    # Then each section is there, with times as ISO-8601 UTC
    assert set(document) == {"summary", "invariants", "timeline", "keys", "inventory"}
    assert document["invariants"][0] == {
        "name": "working_current_key",
        "description": "works",
        "ok": True,
        "checks": 1,
        "failure_count": 0,
        "failures": [],
    }
    assert document["timeline"][0]["time"] == "2025-01-06T10:00:00Z"
    assert {key["access_key_id"] for key in document["keys"]} == {OLD_KEY, NEW_KEY}
    assert document["inventory"] == inventory


def test_a_secret_in_a_log_line_is_found_and_the_place_named_without_the_secret() -> None:
    # Given one invocation whose log line carries a secret access key, and one clean one
    leaky = run(3, "rotate_keys")
    leaky.log_lines = ['{"level": "DEBUG", "message": "response", "SecretAccessKey": "' + SECRET + '"}']
    clean = run(4, "rotate_keys")

    # When the texts of the run are searched
    places = timeline.find_secrets([SECRET, ""], timeline.invocation_texts([leaky, clean]))

    # Then only the leaky invocation's logs are named, and the answer does not repeat the secret
    assert places == ["invocation 0 (rotate_keys at 2025-01-09T10:00:00Z) logs"]
    assert SECRET not in " ".join(places)


def test_a_secret_in_a_result_is_found_too() -> None:
    # Given a result that (wrongly) returns the secret in an action detail
    bad = action("u", "create_key", NEW_KEY)
    bad["detail"] = f"created with {SECRET}"

    # When searched
    places = timeline.find_secrets([SECRET], timeline.invocation_texts([run(1, "create_keys", [bad])]))

    # Then the result is named
    assert places == ["invocation 0 (create_keys at 2025-01-07T10:00:00Z) result"]


def test_redact_removes_every_secret() -> None:
    # Given a text holding two secrets, one a prefix of the other
    text = f"a={SECRET} b={SECRET[:20]}"

    # When redacted
    redacted = timeline.redact(text, [SECRET, SECRET[:20]])

    # Then neither remains
    assert SECRET[:20] not in redacted
    assert redacted == "a=<redacted secret> b=<redacted secret>"


# --- the picture -----------------------------------------------------------------------------------------------------


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


@pytest.mark.parametrize("with_keys", [True, False])
def test_the_picture_is_a_png_of_the_requested_size(tmp_path: Path, with_keys: bool) -> None:
    # Given the rotation story's key lives plus an out-of-scope key (or nothing at all)
    spans = timeline.key_spans(rotation_story()) if with_keys else []
    if with_keys:
        spans.append(timeline.KeySpan("admin-alice", "AKIAADMINADMINADMIN1", START, managed=False))

    # When the picture is drawn
    path = tmp_path / "out" / "timeline.png"
    timeline_png.render_png(
        path,
        spans,
        start=START,
        end=START + timedelta(days=400),
        title="test",
        expiries={"temporary-iam-user": START + timedelta(days=365)},
    )

    # Then it is a 1400x700 PNG
    assert _png_size(path) == (1400, 700)


def test_the_picture_draws_each_key_with_its_states(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the rotation story, and a recorder of every bar drawn
    import matplotlib.axes

    bars: list[dict[str, Any]] = []
    original = matplotlib.axes.Axes.broken_barh

    def record(self: Any, xranges: Any, yrange: Any, **kwargs: Any) -> Any:
        bars.append({"y": yrange[0] + yrange[1] / 2, "colour": kwargs.get("facecolors"), "hatch": kwargs.get("hatch")})
        return original(self, xranges, yrange, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "broken_barh", record)
    spans = timeline.key_spans(rotation_story())

    # When the picture is drawn
    timeline_png.render_png(tmp_path / "t.png", spans, start=START, end=START + timedelta(days=400), title="t")

    # Then the old key (top row) is active, hatched while postponed, then inactive; the new one only active
    old_row = [b for b in bars if b["y"] == 1]
    new_row = [b for b in bars if b["y"] == 0]
    assert [b["colour"] for b in old_row] == [timeline_png.ACTIVE_COLOUR, "none", timeline_png.INACTIVE_COLOUR]
    assert old_row[1]["hatch"] == timeline_png.POSTPONED_HATCH
    assert [b["colour"] for b in new_row] == [timeline_png.ACTIVE_COLOUR]


def test_invariant_check_counts_and_keeps_failures() -> None:
    # Given an invariant
    invariant = timeline.Invariant("x", "y")

    # When checked twice, once failing
    assert invariant.check(True, "no") is True
    assert invariant.check(False, "broke on day 3") is False

    # Then it counts both and is not ok
    assert (invariant.checks, invariant.failures, invariant.ok) == (2, ["broke on day 3"], False)


def test_the_organization_picture_draws_one_band_per_account_in_the_order_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the same user's keys in two accounts (named account/user), and a recorder of the bands and row labels
    import matplotlib.axes

    shaded: list[tuple[float, float]] = []
    labels: list[str] = []
    original_span, original_note = matplotlib.axes.Axes.axhspan, matplotlib.axes.Axes.annotate

    def span(self: Any, low: float, high: float, **kwargs: Any) -> Any:
        shaded.append((low, high))
        return original_span(self, low, high, **kwargs)

    def note(self: Any, text: str, *args: Any, **kwargs: Any) -> Any:
        labels.append(text)
        return original_note(self, text, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "axhspan", span)
    monkeypatch.setattr(matplotlib.axes.Axes, "annotate", note)
    spans = [
        timeline.KeySpan("prod/u", "AKIAPROD", START),
        timeline.KeySpan("dev/u", "AKIADEV1", START),
        timeline.KeySpan("dev/v", "AKIADEV2", START + timedelta(days=1)),
    ]
    bands = [("dev (111111111111)", ["dev/u", "dev/v"]), ("prod (222222222222)", ["prod/u"])]

    # When the picture is drawn with the accounts as bands
    path = tmp_path / "org.png"
    timeline_png.render_png(path, spans, start=START, end=START + timedelta(days=10), title="t", bands=bands)

    # Then dev's band holds the top two rows and prod's the last, each labelled with its account
    assert shaded == [(0.5, 2.5), (-0.5, 0.5)]
    assert "dev (111111111111)" in labels and "prod (222222222222)" in labels
    # and each row is labelled by its user alone, the band naming the account
    assert {"u", "v"} <= set(labels) and "dev/u" not in labels
    assert _png_size(path) == (1400, 700)


@pytest.mark.parametrize("argv", [["--days", "50"], ["--days", "200", "--join-day", "0"]])
def test_demo_org_refuses_a_join_day_outside_the_span(argv: list[str]) -> None:
    from local_account import demo_org

    with pytest.raises(SystemExit):
        demo_org._parse(argv)
