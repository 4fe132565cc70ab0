"""Which users a scheduled run re-reads one by one before its final plan: those with actions, those whose warning a
fresh read could change, and those it will forewarn; never a user whose warning rests on facts a re-read repeats."""

from __future__ import annotations

from typing import Any

import pytest

from key_lifecycle.domain.rotation import plan_rotation
from key_lifecycle.gateways.snapshot import BulkSnapshot
from key_lifecycle.models.report import Plan, Warning
from key_lifecycle.models.snapshot import AccountSnapshot, UserState
from key_lifecycle.service import confirm
from tests.support.snapshot_builders import NOW, SETTINGS, ago, ahead, current_since, key, snapshot, user, version


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Stands in for the account: `bulk` is what the bulk read returns; the users re-read are recorded."""
    re_read: list[str] = []

    def read_user(aws: Any, bulk_user: UserState, *, with_last_used: bool = True) -> UserState:
        re_read.append(bulk_user.user_name)
        return bulk_user

    monkeypatch.setattr(confirm, "read_user", read_user)
    return re_read


def _bulk(monkeypatch: pytest.MonkeyPatch, account: AccountSnapshot) -> None:
    bulk = BulkSnapshot(snapshot=account, unresolved=frozenset(), report_generated=NOW)
    monkeypatch.setattr(confirm, "read_bulk_snapshot", lambda *args, **kwargs: bulk)


def _still_used_replaced_key() -> UserState:
    # Key 1 was replaced by key 2 ten days ago and was used yesterday: its deactivation is postponed.
    return user(
        "legacy",
        keys=[key(1, created=ago(days=60), last_used=ago(days=1)), key(2, created=ago(days=10))],
        versions=[version(1, "AWSPREVIOUS"), version(2, "AWSCURRENT")],
        tags=current_since(2, ago(days=10)),
    )


def test_a_postponed_deactivation_is_not_confirmed_with_per_user_reads(monkeypatch, reads) -> None:
    # Given a replaced key that the bulk data shows used after its replacement became current
    _bulk(monkeypatch, snapshot(_still_used_replaced_key()))
    # When the rotation plans
    decided = confirm.plan_confirmed(None, SETTINGS, NOW, lambda seen: plan_rotation(seen, NOW, SETTINGS))  # type: ignore[arg-type]
    # Then it postpones, as a fresh read would too (a later use is still a use), without reading the user again
    assert [w.code for w in decided.plan.warnings] == ["deactivation_postponed"]
    assert decided.plan.actions == []
    assert reads == [] and decided.confirmed == ()


def test_a_warning_a_fresh_read_could_change_is_confirmed_and_a_bulk_safe_one_is_not(monkeypatch, reads) -> None:
    # Given three managed users: a blocked rotation (the second key may be gone by now), a postponed deactivation
    # and a garbled tag
    _bulk(monkeypatch, snapshot(user("blocked"), user("postponed"), user("garbled")))
    warned = Plan(
        warnings=[
            Warning(user_name="blocked", code="two_active_keys", message="both keys are active"),
            Warning(user_name="postponed", code="deactivation_postponed", message="still used"),
            Warning(user_name="garbled", code="bad_expires_at", message="not a date"),
        ]
    )
    # When the run plans
    decided = confirm.plan_confirmed(None, SETTINGS, NOW, lambda seen: warned)  # type: ignore[arg-type]
    # Then only the blocked rotation's user is re-read
    assert reads == ["blocked"] and decided.confirmed == ("blocked",)
    assert {"bad_expires_at", "deactivation_postponed"} <= confirm.BULK_SAFE_WARNINGS
    assert "two_active_keys" not in confirm.BULK_SAFE_WARNINGS


def test_users_about_to_be_forewarned_are_confirmed_when_the_caller_asks(monkeypatch, reads) -> None:
    # Given a user expiring in 5 days (inside the 7-day forewarning window) and one expiring in 30 days
    _bulk(monkeypatch, snapshot(user("leaving", expires=ahead(days=5)), user("staying", expires=ahead(days=30))))
    nothing = Plan()
    # When the run plans without forewarnings, nobody is re-read
    confirm.plan_confirmed(None, SETTINGS, NOW, lambda seen: nothing)  # type: ignore[arg-type]
    assert reads == []
    # And when the caller will forewarn, the user to be warned is re-read first (the warning writes a tag)
    decided = confirm.plan_confirmed(
        None,  # type: ignore[arg-type]
        SETTINGS,
        NOW,
        lambda seen: nothing,
        also_confirm=confirm.forewarned_users(NOW, SETTINGS),
    )
    assert reads == ["leaving"] and decided.confirmed == ("leaving",)
