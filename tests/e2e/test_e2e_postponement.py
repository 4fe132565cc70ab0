"""Use-aware cut-over: a replaced key its consumer still uses is not deactivated after the grace period,
until the hard maximum age deactivates it regardless; then it is deleted after the delete grace."""

from __future__ import annotations

import pytest

from .conftest import LEGACY, ROTATED, Year

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

DEACTIVATE_AFTER_DAYS = 7
DELETE_AFTER_DAYS = 7
MAX_KEY_AGE_DAYS = 120


def _first_key_timeline(year: Year, user: str) -> tuple[str, int, int, int]:
    """The user's first key, the first day two keys existed, the day it was seen inactive, the day gone."""
    first_key = year.created[user]["access_key_id"]
    replaced = year.first_day(user, lambda s: len(s.keys) == 2)
    inactive = year.first_day(
        user, lambda s: any(k.access_key_id == first_key and k.status == "Inactive" for k in s.keys)
    )
    gone = year.first_day(user, lambda s: all(k.access_key_id != first_key for k in s.keys))
    assert replaced is not None and inactive is not None and gone is not None, (replaced, inactive, gone)
    return first_key, replaced, inactive, gone


def test_an_unused_replaced_key_is_deactivated_after_the_grace_period_then_deleted(year: Year) -> None:
    _, replaced, inactive, gone = _first_key_timeline(year, ROTATED)
    # Rotation at 90 days (the next weekday run); deactivation one grace period later; deletion one later
    assert 90 <= replaced <= 93
    assert DEACTIVATE_AFTER_DAYS <= inactive - replaced <= DEACTIVATE_AFTER_DAYS + 3
    assert DELETE_AFTER_DAYS <= gone - inactive <= DELETE_AFTER_DAYS + 3


def test_a_replaced_key_still_in_use_is_not_deactivated_after_the_grace_period(year: Year) -> None:
    first_key, replaced, inactive, _ = _first_key_timeline(year, LEGACY)
    # Given the legacy consumer signs with its first key every day, then it stays active past the grace
    assert inactive - replaced > DEACTIVATE_AFTER_DAYS + 3
    still_active = year.state(replaced + DEACTIVATE_AFTER_DAYS + 2, LEGACY)
    assert still_active is not None
    assert [k.status for k in still_active.keys if k.access_key_id == first_key] == ["Active"]
    # And every rotate run in between warned that the deactivation was postponed
    postponed = {
        i.time.date()
        for i in year.scheduled
        if i.function == "rotate_keys"
        for w in i.result["warnings"]
        if w["user_name"] == LEGACY and w["code"] == "deactivation_postponed" and w["access_key_id"] == first_key
    }
    assert len(postponed) >= 5


def test_the_hard_cap_deactivates_a_key_in_use_and_warns(year: Year) -> None:
    first_key, _, inactive, gone = _first_key_timeline(year, LEGACY)
    # The key was created on day 0: it is deactivated at 120 days old (seen inactive the next morning)
    assert MAX_KEY_AGE_DAYS < inactive <= MAX_KEY_AGE_DAYS + 3
    warned = [
        w
        for i in year.scheduled
        if i.function == "rotate_keys"
        for w in i.result["warnings"]
        if w["user_name"] == LEGACY and w["code"] == "hard_cap_deactivated"
    ]
    assert warned and warned[0]["access_key_id"] == first_key
    assert DELETE_AFTER_DAYS <= gone - inactive <= DELETE_AFTER_DAYS + 3


def test_the_consumer_of_the_old_key_works_until_the_hard_cap_and_then_is_refused(year: Year) -> None:
    _, _, inactive, _ = _first_key_timeline(year, LEGACY)
    before = {result for day, result in year.legacy_calls if day < inactive}
    after = {result for day, result in year.legacy_calls if day >= inactive}
    assert before == {"ok"}
    assert after == {"InvalidClientTokenId"}
