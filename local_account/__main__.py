"""`python -m local_account`: deploy the stack into a fresh local account, show what was deployed, and
optionally run its schedules for some days, one line per invocation."""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from typing import Any


def _context(pairs: list[str]) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise SystemExit(f"--context expects key=value, got {pair!r}")
        try:
            context[key] = json.loads(value)
        except json.JSONDecodeError:
            context[key] = value
    return context


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_account", description=__doc__)
    parser.add_argument("--days", type=float, default=0, help="run the deployed schedules for this many days")
    parser.add_argument("-c", "--context", action="append", default=[], metavar="KEY=VALUE", help="context override")
    args = parser.parse_args(argv)

    from local_account import LocalAccount  # heavy: only once the arguments are good

    with LocalAccount.deploy(context=_context(args.context)) as account:
        t = account.timings
        print(f"endpoint {account.endpoint_url}  account {account.account_id}  at {account.now:%Y-%m-%d %H:%M} UTC")
        print(
            f"synth {t.synth_s:.1f}s  bootstrap {t.bootstrap_s:.1f}s  deploy {t.deploy_s:.1f}s  "
            f"(emulator {t.server_s:.1f}s, read back {t.read_back_s:.1f}s)"
        )
        for function in account.functions.values():
            print(f"function {function.name:14} {function.function_name}  role {function.role_arn.split('/')[-1]}")
        for schedule in account.schedules.values():
            print(
                f"schedule {schedule.expression:26} {schedule.timezone:8} {schedule.state:8} "
                f"-> {schedule.function}  input {schedule.input}"
            )
        for logical_id, kind in sorted(account.skipped_resources.items()):
            print(f"not created by the emulator: {kind} {logical_id}")
        if args.days:
            for invocation in account.advance(days=args.days):
                result = invocation.result if isinstance(invocation.result, dict) else {}
                actions = Counter(f"{a['action']}:{a['status']}" for a in result.get("actions", []))
                done = ", ".join(f"{count} {action}" for action, count in sorted(actions.items()))
                outcome = invocation.error or done or "nothing to do"
                print(
                    f"{invocation.time:%Y-%m-%d %H:%M} {invocation.function:14} "
                    f"{invocation.duration_s * 1000:6.0f} ms  {outcome}"
                )
        failed = account.failed_invocations()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
