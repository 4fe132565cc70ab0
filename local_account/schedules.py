"""EventBridge Scheduler expressions (`rate()`, `cron()`, `at()`) evaluated in the schedule's time zone:
when does a schedule fire between two instants."""

from __future__ import annotations

import calendar
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}
MONTHS = {name.upper(): number for name, number in MONTHS.items()}
# Scheduler numbers weekdays 1-7 from Sunday.
WEEKDAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}

_RATE_RE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON_RE = re.compile(r"^cron\((.*)\)$")
_AT_RE = re.compile(r"^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$")
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}


class ScheduleExpressionError(ValueError):
    """The expression is not valid EventBridge Scheduler syntax (or uses a part this evaluator lacks)."""


def _parse_field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    """One cron field: `*`, a number or name, `a-b`, `a,b,c`, `*/n`, `a/n`, `a-b/n`."""
    values: set[int] = set()

    def value_of(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise ScheduleExpressionError(f"unknown value {token!r}")
        number = int(token)
        if not low <= number <= high:
            raise ScheduleExpressionError(f"value {number} outside {low}-{high}")
        return number

    for part in text.split(","):
        if not part:
            raise ScheduleExpressionError(f"empty list item in {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleExpressionError(f"bad step in {part!r}")
            step = int(step_text)
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            first, last = base.split("-", 1)
            start, end = value_of(first), value_of(last)
            if end < start:
                raise ScheduleExpressionError(f"descending range {base!r}")
        else:
            start = value_of(base)
            end = high if step_text else start
        values.update(range(start, end + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class CronExpression:
    """`cron(minutes hours day-of-month month day-of-week year)`; one of the day fields must be `?`."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int] | None  # None: `?`
    last_day_of_month: bool
    months: frozenset[int]
    weekdays: frozenset[int] | None  # None: `?`; 1 = Sunday
    years: frozenset[int]

    @classmethod
    def parse(cls, body: str) -> CronExpression:
        fields = body.split()
        if len(fields) != 6:
            raise ScheduleExpressionError(f"cron() needs 6 fields, got {len(fields)}: {body!r}")
        minute, hour, dom, month, dow, year = fields
        if (dom == "?") == (dow == "?"):
            raise ScheduleExpressionError("exactly one of day-of-month and day-of-week must be '?'")
        last_day = dom.upper() == "L"
        return cls(
            minutes=_parse_field(minute, 0, 59),
            hours=_parse_field(hour, 0, 23),
            days_of_month=None if dom == "?" else (frozenset() if last_day else _parse_field(dom, 1, 31)),
            last_day_of_month=last_day,
            months=_parse_field(month, 1, 12, MONTHS),
            weekdays=None if dow == "?" else _parse_field(dow, 1, 7, WEEKDAYS),
            years=_parse_field(year, 1970, 2199),
        )

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        if self.weekdays is not None:
            return (day.isoweekday() % 7) + 1 in self.weekdays
        if self.last_day_of_month:
            return day.day == calendar.monthrange(day.year, day.month)[1]
        assert self.days_of_month is not None
        return day.day in self.days_of_month


@dataclass(frozen=True)
class ScheduleExpression:
    """A parsed schedule expression with its time zone; `between(start, end)` lists its firing times."""

    text: str
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        self._parsed()  # fail early on a bad expression
        ZoneInfo(self.timezone)

    def _parsed(self) -> tuple[str, object]:
        text = self.text.strip()
        if match := _RATE_RE.match(text):
            value, unit = int(match.group(1)), match.group(2).rstrip("s")
            if value < 1:
                raise ScheduleExpressionError("rate() value must be positive")
            return "rate", timedelta(seconds=value * _RATE_UNITS[unit])
        if match := _CRON_RE.match(text):
            return "cron", CronExpression.parse(match.group(1))
        if match := _AT_RE.match(text):
            return "at", datetime.fromisoformat(match.group(1))
        raise ScheduleExpressionError(f"not a schedule expression: {self.text!r}")

    def between(self, start: datetime, end: datetime, *, anchor: datetime | None = None) -> Iterator[datetime]:
        """Firing times t (UTC) with start < t <= end. `anchor` is when a rate() schedule started counting
        (its creation or StartDate); rate() fires at anchor + n * interval, n >= 1."""
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        kind, parsed = self._parsed()
        zone = ZoneInfo(self.timezone)
        if kind == "rate":
            assert isinstance(parsed, timedelta)
            origin = (anchor or start).astimezone(UTC)
            steps = max(1, int((start - origin) / parsed))
            moment = origin + steps * parsed
            while moment <= start:
                moment += parsed
            while moment <= end:
                yield moment
                moment += parsed
        elif kind == "at":
            assert isinstance(parsed, datetime)
            moment = parsed.replace(tzinfo=zone).astimezone(UTC)
            if start < moment <= end:
                yield moment
        else:
            assert isinstance(parsed, CronExpression)
            yield from self._cron_between(parsed, zone, start, end)

    @staticmethod
    def _cron_between(cron: CronExpression, zone: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
        day = start.astimezone(zone).date() - timedelta(days=1)
        last_day = end.astimezone(zone).date() + timedelta(days=1)
        seen: set[datetime] = set()
        while day <= last_day:
            if cron.matches_day(day):
                for hour in sorted(cron.hours):
                    for minute in sorted(cron.minutes):
                        local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        # A wall time skipped by a daylight-saving change runs at the same offset after it.
                        moment = local.astimezone(UTC)
                        if start < moment <= end and moment not in seen:
                            seen.add(moment)
                            yield moment
            day += timedelta(days=1)


def deployed_schedules_version(account_id: str, region: str) -> tuple[tuple[str, ...], ...]:
    """What identifies the account's schedules as they stand (names, last change, state, expression, target),
    read from the Scheduler's own store, as the service that fires them knows them: equal versions mean nothing
    was created, changed or deleted."""
    from moto.scheduler.models import scheduler_backends

    backend = scheduler_backends[account_id][region]
    return tuple(
        sorted(
            tuple(
                str(value)
                for value in (
                    group.name,
                    schedule.name,
                    schedule.last_modified_date,
                    schedule.state,
                    schedule.schedule_expression,
                    schedule.schedule_expression_timezone,
                    schedule.start_date,
                    schedule.end_date,
                    json.dumps(schedule.target, sort_keys=True, default=str),
                )
            )
            for group in backend.schedule_groups.values()
            for schedule in group.schedules.values()
        )
    )
