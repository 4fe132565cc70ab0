"""EventBridge Scheduler expressions fire when AWS fires them: cron() in the schedule's time zone (day of
week 1-7 from Sunday, names, ranges, lists, steps, `?`, `L`), rate() from the schedule's start, at() once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local_account.schedules import ScheduleExpression, ScheduleExpressionError

MONDAY = datetime(2026, 3, 2, tzinfo=UTC)  # 2026-03-02 is a Monday


def fires(text: str, start: datetime, days: float, timezone: str = "UTC", anchor: datetime | None = None) -> list[str]:
    expression = ScheduleExpression(text, timezone)
    return [
        t.strftime("%a %Y-%m-%d %H:%M") for t in expression.between(start, start + timedelta(days=days), anchor=anchor)
    ]


def test_weekday_cron_fires_monday_to_friday_only() -> None:
    assert fires("cron(0 9 ? * MON-FRI *)", MONDAY, 7) == [
        "Mon 2026-03-02 09:00",
        "Tue 2026-03-03 09:00",
        "Wed 2026-03-04 09:00",
        "Thu 2026-03-05 09:00",
        "Fri 2026-03-06 09:00",
    ]


def test_numeric_days_of_week_count_from_sunday() -> None:
    # 2-6 is Monday to Friday; 1 and 7 are Sunday and Saturday
    assert fires("cron(0 9 ? * 2-6 *)", MONDAY, 7) == fires("cron(0 9 ? * MON-FRI *)", MONDAY, 7)
    assert fires("cron(0 9 ? * 1,7 *)", MONDAY, 7) == ["Sat 2026-03-07 09:00", "Sun 2026-03-08 09:00"]


def test_cron_is_evaluated_in_the_schedules_time_zone() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter and 07:00 UTC in summer (DST began 2026-03-29)
    winter = fires("cron(0 9 ? * MON *)", MONDAY, 1, "Europe/Berlin")
    summer = fires("cron(0 9 ? * MON *)", datetime(2026, 3, 30, tzinfo=UTC), 1, "Europe/Berlin")
    assert winter == ["Mon 2026-03-02 08:00"]
    assert summer == ["Mon 2026-03-30 07:00"]


def test_steps_lists_and_ranges() -> None:
    assert fires("cron(0/20 8-9 * * ? *)", MONDAY, 1) == [
        "Mon 2026-03-02 08:00",
        "Mon 2026-03-02 08:20",
        "Mon 2026-03-02 08:40",
        "Mon 2026-03-02 09:00",
        "Mon 2026-03-02 09:20",
        "Mon 2026-03-02 09:40",
    ]
    assert fires("cron(30 6 1,15 * ? *)", MONDAY, 31) == ["Sun 2026-03-15 06:30", "Wed 2026-04-01 06:30"]


def test_month_names_years_and_last_day_of_month() -> None:
    assert fires("cron(0 0 L FEB,APR ? 2026)", datetime(2026, 1, 1, tzinfo=UTC), 365) == [
        "Sat 2026-02-28 00:00",
        "Thu 2026-04-30 00:00",
    ]


def test_rate_fires_every_interval_from_its_anchor() -> None:
    anchor = MONDAY + timedelta(minutes=10)
    assert fires("rate(6 hours)", MONDAY, 1, anchor=anchor) == [
        "Mon 2026-03-02 06:10",
        "Mon 2026-03-02 12:10",
        "Mon 2026-03-02 18:10",
    ]
    assert len(fires("rate(1 day)", MONDAY, 30, anchor=MONDAY)) == 30
    assert len(fires("rate(1 hour)", MONDAY, 1, anchor=MONDAY)) == 24


def test_at_fires_once_at_its_local_time() -> None:
    assert fires("at(2026-03-03T10:00:00)", MONDAY, 7, "Europe/Berlin") == ["Tue 2026-03-03 09:00"]
    assert fires("at(2026-03-03T10:00:00)", datetime(2026, 3, 4, tzinfo=UTC), 7) == []


def test_firings_are_after_start_and_up_to_end() -> None:
    # A firing exactly at the start already happened; one exactly at the end is included
    expression = ScheduleExpression("cron(0 0 * * ? *)")
    assert list(expression.between(MONDAY, MONDAY + timedelta(days=1))) == [MONDAY + timedelta(days=1)]


@pytest.mark.parametrize(
    "text",
    [
        "cron(0 9 * * MON-FRI *)",  # both day fields set: one must be ?
        "cron(0 9 ? * MON-FRI)",  # five fields
        "cron(61 9 * * ? *)",  # minute out of range
        "cron(0 9 ? * FUNDAY *)",  # unknown name
        "rate(0 hours)",
        "rate(1 fortnight)",
        "every day",
    ],
)
def test_invalid_expressions_are_refused(text: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        ScheduleExpression(text)
