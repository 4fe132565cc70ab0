"""Timestamp parsing, expiry, the managed-user rule and key roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from key_lifecycle.domain.create import expiry_for
from key_lifecycle.domain.rules import classify_keys
from key_lifecycle.models.dates import format_timestamp, parse_timestamp
from key_lifecycle.models.managed import is_managed
from key_lifecycle.models.settings import Settings
from tests.support.snapshot_builders import NOW, PATH, SETTINGS, ago, key, key_id, user, version


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-06-01", datetime(2025, 6, 1, tzinfo=UTC)),
        ("2025-06-01T12:30:00Z", datetime(2025, 6, 1, 12, 30, tzinfo=UTC)),
        ("2025-06-01T12:30:00+00:00", datetime(2025, 6, 1, 12, 30, tzinfo=UTC)),
        ("2025-06-01T14:30:00+02:00", datetime(2025, 6, 1, 12, 30, tzinfo=UTC)),
        ("2025-06-01T12:30:00", datetime(2025, 6, 1, 12, 30, tzinfo=UTC)),
        ("2025-06-01T12:30:00.250000Z", datetime(2025, 6, 1, 12, 30, 0, 250000, tzinfo=UTC)),
        ("  2025-06-01T12:30:00Z ", datetime(2025, 6, 1, 12, 30, tzinfo=UTC)),
    ],
)
def test_parse_timestamp_accepts_iso_dates_and_datetimes_as_aware_utc(raw: str, expected: datetime) -> None:
    # Given a tag value in one of the ISO-8601 forms people write
    # When it is parsed
    parsed = parse_timestamp(raw)
    # Then it is the same instant, as aware UTC
    assert parsed == expected
    assert parsed is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("raw", [None, "", "   ", "never", "2025-13-01", "2025-02-30", "01/06/2025", "tomorrow"])
def test_parse_timestamp_returns_none_for_missing_or_garbled_values(raw: str | None) -> None:
    # Given a missing or garbled tag value / When parsed / Then None (reported by the caller, never raised)
    assert parse_timestamp(raw) is None


def test_format_timestamp_round_trips_through_parse_timestamp_at_second_precision() -> None:
    # Given an aware time with microseconds in another zone
    when = datetime(2025, 6, 1, 14, 30, 5, 999, tzinfo=timezone(timedelta(hours=2)))
    # When written as a tag value and read back
    text = format_timestamp(when)
    # Then it is UTC with a Z and the same second
    assert text == "2025-06-01T12:30:05Z"
    assert parse_timestamp(text) == datetime(2025, 6, 1, 12, 30, 5, tzinfo=UTC)


def test_expiry_for_uses_the_default_ttl_when_none_is_given() -> None:
    # Given no ttl / When the expiry is computed / Then it is the default number of days later, to the second
    assert expiry_for(None, NOW.replace(microsecond=123), SETTINGS) == NOW + timedelta(days=SETTINGS.default_ttl_days)


def test_expiry_for_uses_the_given_ttl() -> None:
    assert expiry_for(30, NOW, Settings(default_ttl_days=3)) == NOW + timedelta(days=30)


@pytest.mark.parametrize(
    ("path", "tags", "managed"),
    [
        (PATH, {"managed-by": SETTINGS.managed_by_tag_value}, True),
        ("/", {"managed-by": SETTINGS.managed_by_tag_value}, False),
        ("/Temporary/", {"managed-by": SETTINGS.managed_by_tag_value}, False),
        ("/temporary/sub/", {"managed-by": SETTINGS.managed_by_tag_value}, False),
        (PATH, {}, False),
        (PATH, {"managed-by": "another-deployment"}, False),
        (PATH, {"Managed-By": SETTINGS.managed_by_tag_value}, False),
    ],
)
def test_is_managed_requires_the_managed_path_and_this_deployments_tag(
    path: str, tags: dict[str, str], managed: bool
) -> None:
    # Given a user with some path and tags
    candidate = user(path=path, managed_by=None, tags=tags)
    # When / Then only the exact path plus the exact managed-by value counts as managed
    assert is_managed(candidate, SETTINGS) is managed


def test_classify_keys_reads_roles_from_the_secret_version_stages() -> None:
    # Given one key per role: verified current, pending (first version also AWSCURRENT), previous, unlabelled, unstored
    subject = user(
        keys=[
            key(1, created=ago(days=50)),
            key(2, created=ago(days=40)),
            key(3, created=ago(days=30)),
            key(4, created=ago(days=20)),
            key(5, created=ago(days=10)),
        ],
        versions=[
            version(1, "AWSCURRENT"),
            version(2, "AWSPENDING"),
            version(3, "AWSPREVIOUS"),
            version(4),
        ],
    )
    # When classified
    roles = classify_keys(subject)
    # Then each key lands in its role
    assert roles.current is not None and roles.current.access_key_id == key_id(1)
    assert [k.access_key_id for k in roles.pending] == [key_id(2)]
    assert [k.access_key_id for k in roles.replaced] == [key_id(3), key_id(4)]
    assert [k.access_key_id for k in roles.unstored] == [key_id(5)]


def test_a_first_version_labelled_current_and_pending_is_pending_not_verified() -> None:
    # Given Secrets Manager's automatic AWSCURRENT on a first version that is still AWSPENDING
    subject = user(keys=[key(1, created=ago(days=1))], versions=[version(1, "AWSCURRENT", "AWSPENDING")])
    # When classified / Then the key is pending and there is no verified current key
    roles = classify_keys(subject)
    assert roles.current is None
    assert [k.access_key_id for k in roles.pending] == [key_id(1)]


@pytest.mark.parametrize("secret_state", ["none", "scheduled_for_deletion"])
def test_keys_of_a_user_without_a_usable_secret_are_unstored(secret_state: str) -> None:
    # Given a key whose secret is missing or scheduled for deletion
    subject = user(
        keys=[key(1, created=ago(days=1))],
        versions=[version(1, "AWSCURRENT")],
        secret=secret_state != "none",
        secret_deleted=ago(days=1) if secret_state == "scheduled_for_deletion" else None,
    )
    # When classified / Then the key counts as unstored
    roles = classify_keys(subject)
    assert roles.current is None
    assert [k.access_key_id for k in roles.unstored] == [key_id(1)]


def test_a_current_version_whose_key_no_longer_exists_gives_no_current_key() -> None:
    # Given the AWSCURRENT version names a key deleted outside the stack
    subject = user(keys=[key(2, created=ago(days=1))], versions=[version(1, "AWSCURRENT"), version(2, "AWSPREVIOUS")])
    # When classified / Then there is no current key; the remaining key is merely replaced
    roles = classify_keys(subject)
    assert roles.current is None
    assert [k.access_key_id for k in roles.replaced] == [key_id(2)]
