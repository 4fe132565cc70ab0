"""`make report`: the inventory report ({"action": "report"}) of the stack deployed into the local account, after
a short simulated history, printed as a table (`--json` for the report's data), then the prefer-roles advice
({"action": "advise"} of the rotate function) on every key, the demo consumers' included."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

START = datetime(2026, 1, 5, 9, tzinfo=UTC)  # a Monday
DAYS = 92  # past the first rotation (90 days), inside its deactivation grace
OWNER = "platform-team@example.com"
# Weekly runs (Mondays): the deployed schedules over three months in a few seconds. The lifecycle settings keep
# their defaults (rotate at 90 days, deactivate 7 days later, delete 7 days after that, stale after 90 days).
CONTEXT: dict[str, Any] = {
    "reconcile_schedule": "cron(0 7 ? * MON *)",
    "rotate_schedule": "cron(0 9 ? * MON *)",
    "cleanup_schedule": "cron(0 6 ? * MON *)",
}
# (user, owner, TTL days) created on day 0: rotated on day 91; expiring a week after the report.
USERS = (("ci-deployer", OWNER, 365), ("contractor", "dana@example.com", 100))
LATE_USER = ("build-bot", OWNER, 365)  # created on LATE_DAY: never rotated, then given a key by hand
LATE_DAY = 60
CONSUMER_DAYS = (30, 60, 90, DAYS)  # each user's consumer reads its current key and signs with it


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python tools/inventory_report.py", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report's inventory as JSON")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _create(account: Any, user: str, owner: str, ttl_days: int) -> None:
    created = account.invoke(
        "create_keys", {"action": "create_user", "user_name": user, "owner": owner, "ttl_days": ttl_days}
    )
    if created.get("errors") or created.get("verification") != "verified":
        raise SystemExit(f"create_user {user} failed: {created.get('errors') or created.get('verification')}")


def _consumers(account: Any) -> None:
    """Every managed user's consumer reads AWSCURRENT and calls sts:GetCallerIdentity: keys in use are not stale."""
    secrets = account.admin_client("secretsmanager")
    for user, _, _ in (*USERS, LATE_USER):
        try:
            value = secrets.get_secret_value(SecretId=f"temporary-iam-users/{user}")
        except secrets.exceptions.ResourceNotFoundException:
            continue  # not created yet
        account.client("sts", credentials=json.loads(value["SecretString"])).get_caller_identity()


def history(account: Any) -> dict[str, Any]:
    """Play the history and return the create function's inventory report (its `advice`: the rotate function's
    advise run at the end, just before the report)."""
    from local_account import consumers

    apps = consumers.seed(account)  # outside the managed path: the inventory's figures stay the same
    for user, owner, ttl in USERS:
        _create(account, user, owner, ttl)
    # In the managed path without the managed-by tag: counted in the totals, never listed nor touched.
    account.admin_client("iam").create_user(UserName="shadow", Path="/temporary/")
    _consumers(account)
    for day in CONSUMER_DAYS:
        account.advance_to(START + timedelta(days=day))
        if day == LATE_DAY:
            _create(account, *LATE_USER)
        _consumers(account)
        consumers.work(account, apps)
    # A key made by hand on a managed user, seen by CloudTrail and the change rule: unmanaged, not stored.
    with account.cloudtrail() as trail:
        trail.client("iam").create_access_key(UserName=LATE_USER[0])
    # The advisor first: the inventory shows each key's last recommendation, read from the advisor's memory.
    advice = account.invoke("rotate_keys", {"action": "advise"})
    report: dict[str, Any] = account.invoke("create_keys", {"action": "report"})
    failed = [i for i in account.invocations if not i.ok]
    if failed or report.get("errors") or not report.get("inventory") or advice.get("errors"):
        errors = report.get("errors") or advice.get("errors")
        raise SystemExit(f"the history failed: {[(i.function, i.error) for i in failed] or errors}")
    report["advice"] = advice["advice"]
    return report


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    began = time.perf_counter()
    from local_account import LocalAccount  # heavy: only once the arguments are good
    from tools.advise_report import render_table as render_advice
    from tools.inventory_table import render_table

    _say("Deploying the stack into a local emulated account (cdk bootstrap + deploy)…")
    with LocalAccount.deploy(context=CONTEXT, start=START) as account:
        _say(f"Deployed in {time.perf_counter() - began:.0f} s. Playing {DAYS} days of its schedules…")
        report = history(account)
        runs = len(account.invocations)
    _say(f"{runs} function runs in {time.perf_counter() - began:.0f} s.\n")
    if args.json:
        print(json.dumps({"inventory": report["inventory"], "advice": report["advice"]}, indent=1))
    else:
        print(f'Inventory report ({{"action": "report"}} of create_keys), {report["inventory"]["generated_at"]}:\n')
        print(render_table(report["inventory"]))
        print(f'\nPrefer-roles advice ({{"action": "advise"}} of rotate_keys), {report["advice"]["generated_at"]}:\n')
        print(render_advice(report["advice"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
