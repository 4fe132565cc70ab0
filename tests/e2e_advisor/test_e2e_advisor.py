"""The prefer-roles advisor in the local account: the stack deployed by the CDK CLI, consumers of several origins
using their keys (recorded by CloudTrail, served back by LookupEvents), the weekly advise schedule on the rotate
function, and the cleanup rules, which the advice never changes. Its own pytest process (one local account)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_account import LocalAccount
from local_account import consumers as demo
from local_account.emulator import cloudtrail

pytestmark = pytest.mark.e2e

START = datetime(2026, 1, 5, 10, tzinfo=UTC)  # a Monday
IDLE = "idle-contractor"
CONTEXT: dict[str, Any] = {
    # The daily cleanup (stale users) and the weekly advise run; the rest weekly, to keep the test short.
    "reconcile_schedule": "cron(0 7 ? * MON *)",
    "rotate_schedule": "cron(0 9 ? * MON *)",
    "cleanup_schedule": "cron(0 6 * * ? *)",
    "advise_schedule": "cron(0 8 ? * MON *)",
}


class Run:
    """The account after the consumers' weeks of work, and every advise run the schedule made."""

    def __init__(self, account: LocalAccount, keys: dict[str, tuple[str, str]], calls: int) -> None:
        self.account = account
        self.keys = keys
        self.calls = calls

    def advise_runs(self) -> list[Any]:
        return [i for i in self.account.invocations if i.function == "rotate_keys" and i.event == {"action": "advise"}]


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    with LocalAccount.deploy(context=CONTEXT, start=START) as account:
        keys = demo.seed(account)
        created = account.invoke(
            "create_keys",
            {"action": "create_user", "user_name": IDLE, "owner": "vendor@example.com", "ttl_days": 365},
        )
        assert created["verification"] == "verified", created
        calls = 0
        # Two weeks of daily work; the Monday advise runs see it.
        for day in range(1, 15):
            account.advance_to(START + timedelta(days=day, hours=2))
            calls += demo.work(account, keys)
        yield Run(account, keys, calls)


def _latest(run: Run) -> dict[str, Any]:
    result: dict[str, Any] = run.advise_runs()[-1].result
    return result


def test_the_weekly_schedule_runs_the_advisor_read_only(run: Run) -> None:
    runs = run.advise_runs()
    assert len(runs) == 2 and all(i.ok and i.source == "schedule" for i in runs)
    assert _latest(run)["errors"] == [] and _latest(run)["actions"] == []


def test_each_demo_consumer_gets_its_recommendation(run: Run) -> None:
    by_user = {k["user_name"]: k for k in _latest(run)["advice"]["keys"]}
    for consumer in demo.CONSUMERS:
        advice = by_user[consumer.user_name]
        assert advice["recommendation"] == consumer.expected, (consumer.user_name, advice["reason"])
        assert advice["access_key_id"] == run.keys[consumer.user_name][0]
    github = by_user["webapp-deployer"]["artefact"]["trust_policy"]["Statement"][0]["Condition"]
    assert github["StringEquals"]["token.actions.githubusercontent.com:sub"] == "repo:acme/webapp:ref:refs/heads/main"
    mixed = {o["origin"]: o["calls"] for o in by_user["shared-tools"]["origins"]}
    # Monday 08:00 of the second week: 13 days of work (noon each day), 3 calls a day from EC2 and 1 from elsewhere.
    assert mixed == {"ec2": 13 * 3, "elsewhere": 13}
    ec2_policy = by_user["report-runner"]["artefact"]["policies"][0]["Statement"]
    assert sorted(a for s in ec2_policy for a in s["Action"]) == ["dynamodb:ListTables", "s3:ListAllMyBuckets"]


def test_a_managed_key_with_no_recent_events_is_unused_and_cleanup_still_applies(run: Run) -> None:
    # Within the window, the idle key's one use (the stack's verification, which the local account's trail does not
    # record) shows only in GetAccessKeyLastUsed: no event to judge, the key is kept.
    by_user = {k["user_name"]: k for k in _latest(run)["advice"]["keys"]}
    assert by_user[IDLE]["recommendation"] == "keep_key" and "data events" in by_user[IDLE]["reason"]
    # Past the 30-day window (the advise run of day 35): no recent use at all, "unused".
    run.account.advance_to(START + timedelta(days=36))
    by_user = {k["user_name"]: k for k in _latest(run)["advice"]["keys"]}
    assert by_user[IDLE]["recommendation"] == "unused" and by_user[IDLE]["managed"] is True
    assert by_user["report-runner"]["recommendation"] == "instance_profile"  # days 5 to 14 are in the window
    # The advice changed nothing: the idle user is deleted as stale at 90 days of no use, as always.
    run.account.advance_to(START + timedelta(days=92))
    users = run.account.admin_client("iam").list_users(PathPrefix="/temporary/")["Users"]
    assert IDLE not in {u["UserName"] for u in users}
    assert {c.user_name for c in demo.CONSUMERS} <= {
        u["UserName"] for u in run.account.admin_client("iam").list_users(PathPrefix=demo.CONSUMER_PATH)["Users"]
    }


def test_the_lookup_events_rate_limit_is_respected(run: Run) -> None:
    counts = cloudtrail.counts[(run.account.account_id, run.account.region)]
    requests = sum(i.result["advice"]["lookup_requests"] for i in run.advise_runs())
    assert counts["throttled"] == 0
    assert counts["served"] == requests >= len(demo.CONSUMERS) + 1
    print(json.dumps({"lookup_events": dict(counts), "consumer_calls": run.calls}))
