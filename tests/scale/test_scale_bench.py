"""`make bench` end to end at toy sizes: every row, the virtual latency's arithmetic, the first invocations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_writes_every_row_and_its_latency_is_its_time_plus_its_calls(tmp_path: Path) -> None:
    # Given toy sizes, the per-user scan run up to 20 users, one round of the first-invocation measurement
    args = ["--sizes", "10,20,40", "--scan-max", "20", "--first-runs", "1", "--first-users", "5"]
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_ENDPOINT_URL", "AWS_PROFILE"}}
    # When the benchmark runs as `make bench` runs it
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", *args, "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    rows = results["rows"]
    # Then every size has each function in both states and both modes, the scan past 20 users extrapolated
    assert len(rows) == 3 * 3 * 2 * 2
    assert {(r["users"], r["mode"]) for r in rows if r["extrapolated"]} == {(40, "scan")}
    # And "with 50 ms/call" is the run's own time plus 50 ms for every call it made: counted, never slept
    for row in rows:
        calls = sum(row["calls"].values())
        assert abs(row["latency_seconds"] - (row["wall_seconds"] + calls * 0.05)) <= 0.011, row
    # And a steady state costs the same handful of calls at every size; the scan grows with the users
    steady = {(r["users"], r["function"], r["mode"]): r["iam_reads"] for r in rows if r["state"] == "steady"}
    assert {steady[(n, "rotate_keys", "bulk")] for n in (10, 20, 40)} == {2}
    assert steady[(40, "rotate_keys", "scan")] > steady[(20, "rotate_keys", "scan")] > 2 * 20
    # And each scheduled function's first invocation is measured against a steady-state account, next to a warm one
    first = {f["function"]: f for f in results["first_invocation"]}
    scheduled = {"create_keys", "rotate_keys", "cleanup_users"}
    assert set(first) == {"bare boto3 handler (one IAM call)", *scheduled}
    assert all(f["first_seconds"] > 0 and f["warm_seconds"] > 0 for f in first.values())
    # And the Markdown holds the two tables and where the benchmark's time went
    text = (tmp_path / "results.md").read_text()
    assert "| users | function |" in text and "| first invocation |" in text
    assert "Benchmark time by phase" in text and set(results["bench_seconds"]) >= {"first invocation", "total"}
