"""`make advise`: the prefer-roles advisor ({"action": "advise"} of the rotate function) in the local account, after
a week of work by consumers of several origins (local_account/consumers.py), printed as a table (`--json` for the
report's `advice`, with each recommendation's ready policies and trust policies)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

START = datetime(2026, 1, 5, 10, tzinfo=UTC)  # a Monday
DAYS = 7
CONTEXT: dict[str, Any] = {
    "reconcile_schedule": "cron(0 7 ? * MON *)",
    "rotate_schedule": "cron(0 9 ? * MON *)",
    "cleanup_schedule": "cron(0 6 ? * MON *)",
    "advise_schedule": "cron(0 8 1 1 ? 2030)",  # never within the week: `make advise` invokes it once, by hand
}


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m tools.advise_report", description=__doc__)
    parser.add_argument("--json", action="store_true", help="print the report's advice as JSON")
    return parser.parse_args(argv)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def render_table(advice: dict[str, Any]) -> str:
    """One line per key: user, key, recommendation, where its calls came from (with shares), then why."""
    lines = [("user", "key", "calls", "recommendation", "origins")]
    reasons = []
    for key in advice["keys"]:
        origins = ", ".join(f"{o['origin']} {o['share']:.0%}" for o in key["origins"]) or "-"
        lines.append((key["user_name"], key["access_key_id"], str(key["calls"]), key["recommendation"], origins))
        reasons.append(f"  {key['user_name']}: {key['reason']}")
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines]
    out.insert(1, "  ".join("-" * width for width in widths))
    totals = ", ".join(f"{name} {count}" for name, count in advice["totals"].items())
    out += [
        "",
        "why:",
        *reasons,
        "",
        f"totals: {totals}; LookupEvents requests {advice['lookup_requests']} of {advice['lookup_budget']}; "
        f"window {advice['window_days']} days; AWS IP ranges of {advice['ip_ranges_created']}",
    ]
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    began = time.perf_counter()
    from local_account import LocalAccount, consumers  # heavy: only once the arguments are good
    from local_account.emulator import cloudtrail

    _say("Deploying the stack into a local emulated account (cdk bootstrap + deploy)…")
    with LocalAccount.deploy(context=CONTEXT, start=START) as account:
        _say(f"Deployed in {time.perf_counter() - began:.0f} s. {DAYS} days of the consumers' work…")
        keys = consumers.seed(account)
        calls = 0
        for day in range(1, DAYS + 1):
            account.advance_to(START + timedelta(days=day))
            calls += consumers.work(account, keys)
        report = account.invoke("rotate_keys", {"action": "advise"})
        counts = dict(cloudtrail.counts[(account.account_id, account.region)])
    if report.get("errors") or not report.get("advice"):
        raise SystemExit(f"the advise run failed: {report.get('errors')}")
    _say(f"{calls} consumer calls recorded; LookupEvents {counts}; {time.perf_counter() - began:.0f} s.\n")
    if args.json:
        print(json.dumps(report["advice"], indent=1))
    else:
        print(f'Prefer-roles advice ({{"action": "advise"}} of rotate_keys), {report["advice"]["generated_at"]}:\n')
        print(render_table(report["advice"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
