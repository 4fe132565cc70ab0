"""The events of a run name the member account in an organization run; single-account events are unchanged."""

from __future__ import annotations

from datetime import UTC, datetime

from key_lifecycle.domain.announce import run_events
from key_lifecycle.models.report import Action, ActionKind, ActionStatus, Report, Warning

NOW = datetime(2030, 1, 1, 9, tzinfo=UTC)


def _report(account_id: str | None) -> Report:
    return Report(
        function="rotate_keys",
        dry_run=False,
        account_id=account_id,
        actions=[
            Action(
                user_name="ci",
                action=ActionKind.CREATE_KEY,
                reason="key is 90 days old",
                access_key_id="AKIAEXAMPLE000000001",
                status=ActionStatus.DONE,
            )
        ],
        warnings=[Warning(user_name="ci", code="deactivation_postponed", message="still used")],
    )


def test_an_organization_runs_events_name_the_member_account() -> None:
    events = run_events(_report("111122223333"), None, NOW)
    assert [detail["account_id"] for _, detail in events] == ["111122223333", "111122223333"]


def test_a_single_account_runs_events_carry_no_account_field() -> None:
    events = run_events(_report(None), None, NOW)
    assert len(events) == 2 and all("account_id" not in detail for _, detail in events)
