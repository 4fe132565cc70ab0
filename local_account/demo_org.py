"""`make demo-org`: the demo's story spread over a local organization. The hub is deployed with organization mode
on; three member accounts play the story from the start, one joins on day 100 and plays the rest of the span, one
is excluded (it holds an expired look-alike managed user nobody may touch). Every schedule starts its state machine
over the organization. Prints the per-account invariants and writes `report.json` and `timeline.png` (one band per
account). Exits non-zero when an invariant breaks."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_account import timeline, timeline_png
from local_account.story import START, demo_context

MEMBERS = {"dev": "Workloads/Dev", "prod": "Workloads/Prod", "data": "Workloads/Data/Analytics"}
EXCLUDED = {"legacy": "Sandbox"}
JOINING = ("analytics", 100, "Workloads/Data")


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_account.demo_org", description=__doc__)
    parser.add_argument("--days", type=int, default=200, help="simulated days to run (default: 200)")
    parser.add_argument("--join-day", type=int, default=JOINING[1], help="the day an account joins (default: 100)")
    parser.add_argument("--out", type=Path, default=Path("demo-org-out"), help="output directory")
    args = parser.parse_args(argv)
    if not 1 <= args.join_day < args.days:
        parser.error(f"--join-day must be from 1 to --days - 1 (got {args.join_day} for {args.days} days)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse(argv)
    began = time.perf_counter()
    from local_account import LocalOrganization
    from local_account.organization_story import EXCLUDED_USER, Joining, MemberAccount, OrganizationStory

    print("Deploying the hub into a local organization (cdk bootstrap + deploy)…", file=sys.stderr, flush=True)
    context = {**demo_context(), "organization": {"exclude_accounts": list(EXCLUDED)}}
    with LocalOrganization.deploy(members={**MEMBERS, **EXCLUDED}, context=context, start=START) as org:
        deploy_time = time.perf_counter() - began
        print(f"Deployed in {deploy_time:.0f} s. Playing {args.days} days…", file=sys.stderr, flush=True)
        name, _, ou = JOINING
        story = OrganizationStory(
            org,
            days=args.days,
            members=list(MEMBERS),
            joining=[Joining(name, args.join_day, ou)],
            excluded=list(EXCLUDED),
        )
        story.seed()

        def progress(day: int) -> None:
            if day % 25 == 0:
                print(f"  day {day:>4}/{args.days}  ({time.perf_counter() - began:.0f} s)", file=sys.stderr, flush=True)

        story.run(progress=progress)
        invariants = story.invariants()
        accounts = {n: org.account(n).account_id for n in [*MEMBERS, name, *EXCLUDED]}
        spans: list[timeline.KeySpan] = []
        bands: list[tuple[str, list[str]]] = []
        expiries = {}
        for account_name, member_story in story.stories.items():
            member_spans = timeline.key_spans(MemberAccount(org, account_name).invocations)
            member_spans += member_story.out_of_scope_spans(member_story.inventory())
            for span in member_spans:
                span.user_name = f"{account_name}/{span.user_name}"
            spans += member_spans
            joined = story.joined_at.get(account_name)
            label = f"{account_name} ({accounts[account_name]})" + (
                f", joined day {timeline.day_number(joined, story.start)}" if joined else ""
            )
            bands.append((label, sorted({s.user_name for s in member_spans})))
            expiries.update({f"{account_name}/{u}": t for u, t in member_story.expiries().items()})
        for excluded in EXCLUDED:
            keys = org.account(excluded).admin_client("iam").list_access_keys(UserName=EXCLUDED_USER)
            for key in keys["AccessKeyMetadata"]:
                spans.append(
                    timeline.KeySpan(f"{excluded}/{EXCLUDED_USER}", key["AccessKeyId"], story.start, managed=False)
                )
            bands.append(
                (f"{excluded} ({accounts[excluded]}), excluded: never touched", [f"{excluded}/{EXCLUDED_USER}"])
            )
        runs = len(org.runs)
        run_reports = org.run_reports()
        invocations = len(org.hub.invocations)
        end = org.now
    wall_time = time.perf_counter() - began

    lines = [f"Organization demo: {args.days} simulated days, {runs} state machine runs, {invocations} invocations"]
    lines.append("Accounts: " + ", ".join(f"{n} {a}" for n, a in accounts.items()))
    ok = True
    for scope, found in invariants.items():
        lines.append(f"\n{scope}:")
        for invariant in found:
            ok = ok and invariant.ok
            state = "ok" if invariant.ok else f"BROKEN ({len(invariant.failures)}: {invariant.failures[0]})"
            lines.append(f"  {invariant.name:<26} {invariant.checks:>6} checks  {state}")
    lines.append(f"\nWall time {wall_time:.0f} s (deploy {deploy_time:.0f} s).")
    terminal = "\n".join(lines)
    report = json.dumps(
        {
            "days": args.days,
            "accounts": accounts,
            "invariants": {scope: [i.as_dict() for i in found] for scope, found in invariants.items()},
            "runs": runs,
            "last_run_reports": {r["organization"]["job"]: _brief(r) for r in run_reports},
            "wall_time_s": round(wall_time, 1),
        },
        indent=2,
        default=str,
    )
    secrets = {value for member_story in story.stories.values() for value in member_story.secrets.values}
    leaks = timeline.find_secrets(secrets, {"terminal output": terminal, "report.json": report})
    if leaks:
        ok = False
        terminal, report = timeline.redact(terminal, secrets), timeline.redact(report, secrets)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.json").write_text(report, encoding="utf-8")
    timeline_png.render_png(
        args.out / "timeline.png",
        spans,
        start=START,
        end=end,
        title=f"Access keys across the organization's accounts over {args.days} simulated days",
        expiries=expiries,
        height_px=max(900, 34 * len(spans) + 250),  # two-line labels of out-of-scope users need the room
        bands=bands,
    )
    print(terminal)
    print(f"\nWrote {args.out / 'report.json'} and {args.out / 'timeline.png'}.")
    if not ok:
        print("INVARIANT BROKEN" + (f" (secret found in: {', '.join(leaks)})" if leaks else ""), file=sys.stderr)
        return 1
    return 0


def _brief(report: dict[str, Any]) -> dict[str, Any]:
    """A run report's organization section with its counts (the actions and warnings themselves are long)."""
    section = dict(report["organization"])
    return {
        "accounts_done": section.get("accounts_done"),
        "accounts_failed": section.get("accounts_failed"),
        "actions": len(section.get("actions") or []),
        "warnings": len(section.get("warnings") or []),
    }


if __name__ == "__main__":
    sys.exit(main())
