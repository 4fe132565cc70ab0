"""`make bench` end to end at toy sizes: every row, the virtual latency's arithmetic, the cold-start figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_writes_every_row_and_its_latency_is_its_time_plus_its_calls(tmp_path: Path) -> None:
    # Given toy sizes, the per-user scan run up to 20 users, one round of each cold-start measurement
    args = ["--sizes", "10,20,40", "--scan-max", "20", "--cold-runs", "1", "--first-runs", "1", "--first-users", "5"]
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
    # And the cold start is measured for the bare boto3 handler and the four handlers, whose ratios are checked
    cold = {c["module"]: c for c in results["cold_start"]}
    assert cold["bare boto3 handler"]["ratio"] == 1.0
    assert all(c["same_interpreter_ratio"] >= 1.0 for c in cold.values())
    checked = sorted(name for name, c in cold.items() if c["target"])
    assert checked == sorted(
        f"key_lifecycle.handlers.{name}" for name in ("create_keys", "rotate_keys", "cleanup_users", "detect_changes")
    )
    assert all(any(line.startswith(name + " cold import") for line in results["targets"]) for name in checked)
    # And so is each scheduled function's first invocation against a steady-state account, next to a warm one
    first = {f["function"]: f for f in results["first_invocation"]}
    scheduled = {"create_keys", "rotate_keys", "cleanup_users"}
    assert set(first) == {"bare boto3 handler (one IAM call)", *scheduled, "rotate_keys, X-Ray tracing on"}
    assert all(f["first_seconds"] > 0 and f["warm_seconds"] > 0 for f in first.values())
    # And with tracing on, the X-Ray SDK shows up where it is loaded: in the first invocation, not the import
    assert "aws_xray_sdk" in first["rotate_keys, X-Ray tracing on"]["packages_first_imported"]
    assert all("aws_xray_sdk" not in first[name]["packages_first_imported"] for name in scheduled)
    # And the Markdown holds the three tables and where the benchmark's time went
    text = (tmp_path / "results.md").read_text()
    assert "| users | function |" in text and "| cold import |" in text and "| first invocation |" in text
    assert "Benchmark time by phase" in text and set(results["bench_seconds"]) >= {"cold import", "total"}
