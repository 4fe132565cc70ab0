"""Run pytest suites that each need a process of their own (one local account per process) side by side, and print
each suite's output once it ends. Exits non-zero when any suite fails. Used by `make test` and `make e2e`:
each suite's local account binds its own ephemeral port on 127.0.0.1 and deploys from its own temporary directory,
so the processes share nothing."""

from __future__ import annotations

import subprocess
import sys
import time


def main(suites: list[str]) -> int:
    started = time.monotonic()
    running = [
        (
            suite,
            subprocess.Popen(  # noqa: S603 - fixed command: this interpreter's pytest on a path of the repository
                [sys.executable, "-m", "pytest", suite],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            ),
        )
        for suite in suites
    ]
    failed = []
    for suite, process in running:
        output, _ = process.communicate()
        print(f"==== {suite} (exit {process.returncode})", flush=True)
        print(output, end="", flush=True)
        if process.returncode != 0:
            failed.append(suite)
    print(f"==== {len(suites)} suites side by side in {time.monotonic() - started:.0f} s; failed: {failed or 'none'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
