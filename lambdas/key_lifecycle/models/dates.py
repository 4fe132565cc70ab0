"""Timestamps as the planner sees them: tag values parsed leniently into aware UTC datetimes, written back in ISO."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already (IAM and Secrets Manager speak UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_timestamp(value: str | None) -> datetime | None:
    """An ISO-8601 date or datetime ('Z' accepted; naive means UTC) as aware UTC; None when missing or garbled.

    Tag values are edited by hand, so a bad one is reported by the caller, never raised: a garbled date must not
    stop a run, and must never be read as "long ago" (that would make a user look expired).
    """
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return as_utc(datetime.fromisoformat(value.strip()))
    except (ValueError, OverflowError):
        return None


def format_timestamp(value: datetime) -> str:
    """The form the stack writes into tags: seconds precision, UTC, `Z` suffix (allowed in IAM tag values)."""
    return as_utc(value).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_days(start: datetime, end: datetime) -> int:
    """Whole days from start to end, for reasons a person reads (decisions compare exact timedeltas)."""
    return (as_utc(end) - as_utc(start)).days
