"""The weekly audit's summary of the advisor's last recommendations (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from key_lifecycle.domain import advice_summary
from key_lifecycle.domain.advice_summary import summarize_advice
from key_lifecycle.domain.advisor import Recommendation
from key_lifecycle.models.dates import format_timestamp

NOW = datetime(2030, 6, 1, 9, tzinfo=UTC)


def test_counts_age_and_the_keys_a_role_could_replace() -> None:
    # Given the advisor's memory of four keys, written ten days ago, and the users of three of them
    recommendations = {
        "AKIA0000000000000001": "instance_profile",
        "AKIA0000000000000002": "keep_key",
        "AKIA0000000000000003": "unused",
        "AKIA0000000000000004": "roles_anywhere",
        "AKIA0000000000000005": "instance_profile",
    }
    written_at = format_timestamp(NOW - timedelta(days=10, hours=2))
    user_of = {"AKIA0000000000000001": "Report-Runner", "AKIA0000000000000004": "backup-agent"}
    # When it is summarised
    summary = summarize_advice(recommendations, written_at, NOW, user_of)
    # Then it counts each recommendation, tells the advice's age in whole days
    assert summary["counts"] == {"instance_profile": 2, "keep_key": 1, "roles_anywhere": 1, "unused": 1}
    assert (summary["advised_at"], summary["age_days"], summary["keys"]) == (written_at, 10, 5)
    # And lists the keys a role could replace (neither keep_key nor unused), by user name, unknown users first
    assert summary["replaceable_count"] == 3
    assert summary["replaceable"] == [
        {"user_name": None, "access_key_id": "AKIA0000000000000005", "recommendation": "instance_profile"},
        {"user_name": "backup-agent", "access_key_id": "AKIA0000000000000004", "recommendation": "roles_anywhere"},
        {"user_name": "Report-Runner", "access_key_id": "AKIA0000000000000001", "recommendation": "instance_profile"},
    ]


def test_before_the_first_run_the_summary_says_never_advised() -> None:
    summary = summarize_advice({}, None, NOW)
    assert summary == {
        "advised_at": None,
        "age_days": None,
        "keys": 0,
        "counts": {},
        "replaceable_count": 0,
        "replaceable": [],
    }
    # A garbled date is no age (never read as "long ago")
    assert summarize_advice({"AKIA0000000000000001": "keep_key"}, "yesterday", NOW)["age_days"] is None


def test_every_recommendation_but_keep_key_and_unused_is_a_replacement_and_the_list_is_capped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    replacing = {r.value for r in Recommendation if advice_summary.replaces_key(r.value)}
    assert replacing == {r.value for r in Recommendation} - {"keep_key", "unused"}
    monkeypatch.setattr(advice_summary, "MAX_LISTED", 2)
    many = {f"AKIA{i:016d}": "role" for i in range(5)}
    summary = summarize_advice(many, format_timestamp(NOW), NOW)
    assert summary["replaceable_count"] == 5 and len(summary["replaceable"]) == 2
    assert summary["age_days"] == 0
