"""`make demo`: deploy the stack into a local emulated account, play the seeded story over a simulated span, and
tell it on the terminal, in `report.json` and in `timeline.png`. Exits non-zero when an invariant breaks."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from local_account import notifications, timeline, timeline_png
from local_account.story import START, Story, demo_context


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_account.demo", description=__doc__)
    parser.add_argument("--days", type=int, default=400, help="simulated days to run (default: 400)")
    parser.add_argument("--out", type=Path, default=Path("demo-out"), help="output directory (default: demo-out/)")
    args = parser.parse_args(argv)
    if args.days < 1:
        parser.error("--days must be at least 1")
    return args


def _progress(days: int, began: float) -> Callable[[int], None]:
    def report(day: int) -> None:
        if day % 50 == 0 or day == days:
            print(f"  day {day:>4}/{days}  ({time.perf_counter() - began:.0f} s)", file=sys.stderr, flush=True)

    return report


def _inventory_tables(inventory: dict[str, Any]) -> str:
    """The create function's inventory reports (half-way and at the end), as the table `make report` prints."""
    from tools.inventory_table import render_table

    tables = []
    for name, taken in inventory.get("function_reports", {}).items():
        when = f"{name.replace('_', ' ')}, day {taken.get('day')}"
        title = f'Inventory report ({{"action": "report"}} of create_keys), {when}:'
        table = render_table(taken["inventory"]) if taken.get("inventory") else "not available"
        tables.append(title + "\n" + table)
    return "\n\n".join(tables)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    began = time.perf_counter()
    from local_account import LocalAccount  # heavy (CDK synth, emulator): only once the arguments are good

    print("Deploying the stack into a local emulated account (cdk bootstrap + deploy)…", file=sys.stderr, flush=True)
    with LocalAccount.deploy(context=demo_context(), start=START) as account:
        deploy_time = time.perf_counter() - began
        print(f"Deployed in {deploy_time:.0f} s. Playing {args.days} days…", file=sys.stderr, flush=True)
        story = Story(account, days=args.days)
        story.seed()
        story.run(progress=_progress(args.days, began))
        inventory = story.inventory()
        invocations = list(account.invocations)
        sent = story.notifications()
        end: datetime = account.now
    wall_time = time.perf_counter() - began

    function_rows = timeline.timeline_rows(invocations, story.start)
    rows = timeline.merge_rows(function_rows, story.rows)
    spans = timeline.key_spans(invocations) + story.out_of_scope_spans(inventory)
    secrets = story.secrets.values
    leaks = timeline.find_secrets(
        secrets, {**timeline.invocation_texts(invocations), "SNS messages": "\n".join(m["message"] for m in sent)}
    )
    story.no_secret_leak.check(not leaks, "secret found in: " + ", ".join(leaks[:20]))

    invariants = story.invariants()
    summary = timeline.summarize(
        invocations,
        function_rows,
        spans,
        invariants,
        start=story.start,
        end=end,
        wall_time_s=wall_time,
        deploy_time_s=deploy_time,
    )
    summary["notifications"] = notifications.counts(sent)

    def render() -> tuple[str, str]:
        terminal = timeline.format_timeline(rows) + "\n\n" + timeline.format_summary(summary, invariants)
        terminal += "\n\n" + _inventory_tables(inventory)
        if inventory.get("advice"):
            from tools.advise_report import render_table as render_advice

            title = (
                f'Prefer-roles advice ({{"action": "advise"}} of rotate_keys), {inventory["advice"]["generated_at"]}:'
            )
            terminal += "\n\n" + title + "\n" + render_advice(inventory["advice"])
        report = timeline.report_json(
            summary=summary, rows=rows, spans=spans, invariants=invariants, inventory=inventory
        )
        return terminal, report

    terminal, report = render()
    # The outputs themselves are checked before anything is written; a leak is then redacted, never printed.
    leaks = timeline.find_secrets(secrets, {"terminal output": terminal, "report.json": report})
    if not story.no_secret_leak.check(not leaks, "secret found in: " + ", ".join(leaks)):
        summary["invariants_ok"] = False
        terminal, report = (timeline.redact(text, secrets) for text in render())

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(report, encoding="utf-8")
    timeline_png.render_png(
        args.out / "timeline.png",
        spans,
        start=story.start,
        end=end,
        title=f"Access keys in the local account over {args.days} simulated days",
        expiries=story.expiries(),
    )
    print(terminal)
    print(f"\nWrote {args.out / 'report.json'} and {args.out / 'timeline.png'}.")
    if not summary["invariants_ok"]:
        broken = ", ".join(invariant.name for invariant in invariants if not invariant.ok)
        print(f"INVARIANT BROKEN: {broken}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
