"""`make bench` end to end at toy sizes: every row, the virtual latency's arithmetic, the first invocations, the
organization rows (hub and peer, a failing account named) and the map's modelled schedule."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One benchmark run at toy sizes, as `make bench` runs it: the per-user scan run up to 20 users, one round of
    the first-invocation measurement, and an organization of 3 accounts x 20 users (one failing), extrapolated to
    6 accounts."""
    out = tmp_path_factory.mktemp("bench-out")
    args = ["--sizes", "10,20,40", "--scan-max", "20", "--first-runs", "1", "--first-users", "5"]
    args += ["--org-sizes", "3x20", "--org-extrapolate", "6x20"]
    env = {k: v for k, v in os.environ.items() if k not in {"AWS_ENDPOINT_URL", "AWS_PROFILE"}}
    done = subprocess.run(
        [sys.executable, "-m", "bench.run", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_the_benchmark_writes_every_row_and_its_latency_is_its_time_plus_its_calls(bench_out: Path) -> None:
    # Given toy sizes (the fixture), when the benchmark has run
    results = json.loads((bench_out / "results.json").read_text())
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
    text = (bench_out / "results.md").read_text()
    assert "| users | function |" in text and "| first invocation |" in text
    assert "Benchmark time by phase" in text and set(results["bench_seconds"]) >= {"first invocation", "total"}
    assert "| accounts x users | state | design |" in text


def _org_rows(results: dict[str, Any]) -> dict[tuple[int, str, str], dict[str, Any]]:
    # The daily rotation's rows; the other jobs' rows are checked on their own.
    return {(r["accounts"], r["state"], r["design"]): r for r in results["organization_rows"] if r["job"] == "rotate"}


def test_the_organization_rows_run_the_job_per_account_name_the_failing_one_and_set_the_peer_beside(
    bench_out: Path,
) -> None:
    # Given an organization of 3 member accounts x 20 managed users (the fixture), when the benchmark has run
    results = json.loads((bench_out / "results.json").read_text())
    rows = _org_rows(results)
    # Then each size has the hub's and the peer's rows in the steady state, with one failing account, and 5 % due
    states = ("steady", "steady, 1 failing", "5% due")
    assert set(rows) == {(n, state, design) for n in (3, 6) for state in states for design in ("hub", "peer")}
    assert {n for (n, _, _), r in rows.items() if r["extrapolated"]} == {6}
    steady = rows[(3, "steady", "hub")]
    # And the hub reads each account in bulk: its bulk reads, one AssumeRole, the organization check
    assert steady["accounts_done"] == 3 and steady["accounts_failed"] == []
    assert steady["per_account"]["iam_reads"] == 2 and steady["per_account"]["sts"] == 1
    assert steady["calls_by_operation"]["sts:AssumeRole"] == 3
    assert steady["calls_by_operation"]["iam:GetAccountAuthorizationDetails"] == 3
    # list_accounts once, aggregate_runs once (the manifest and the SUCCEEDED file)
    assert steady["list_calls"] >= 2 and steady["calls_by_operation"]["s3:GetObject"] == 2
    # And the peer's per-user scan costs calls per user in every account
    assert rows[(3, "steady", "peer")]["per_account"]["iam_reads"] > 20 * 3
    # And the account whose spoke role was deleted is named failed by the aggregate while the others complete
    failing = rows[(3, "steady, 1 failing", "hub")]
    assert len(failing["failing"]) == 1
    assert failing["accounts_failed"] == failing["failing"] and failing["accounts_done"] == 2
    # retried by the map (3 attempts, 30 + 60 s of waits in its slot); over the tolerated 10 %, said so
    assert failing["modelled_seconds"]["40"] >= 90 and failing["tolerated"] is False
    # while the peer loses it, unnamed, and finishes with the slowest working account
    lost = rows[(3, "steady, 1 failing", "peer")]
    assert lost["accounts_done"] == 2 and lost["accounts_failed"] == [] and lost["modelled_seconds"]["all"] < 90
    # And with 5 % due the rotations are done in every account
    due = rows[(3, "5% due", "hub")]
    assert due["due_users"] == 1 and due["accounts_done"] == 3 and due["per_account"]["iam_writes"] > 0
    assert (due["actions"], due["actions_failed"]) == (3, 0)
    assert steady["actions"] == 0 and rows[(3, "5% due", "peer")]["actions"] == 3
    # And the modelled time of every hub row is no longer at 40 slots than at 10
    assert all(
        r["modelled_seconds"]["40"] <= r["modelled_seconds"]["10"] for r in rows.values() if r["design"] == "hub"
    )
    text = (bench_out / "results.md").read_text()
    assert "| accounts x users | state | design |" in text and "6 x 20 (extrapolated)" in text
    assert any("IAM reads per account (target <= 10: met)" in line for line in results["targets"])


def test_the_organization_rows_run_cleanup_and_reconcile_over_every_account_too(bench_out: Path) -> None:
    # Given the fixture's organization of 3 accounts x 20 users, when the benchmark has run
    results = json.loads((bench_out / "results.json").read_text())
    rows = {
        (r["job"], r["accounts"], r["state"]): r
        for r in results["organization_rows"]
        if r["job"] != "rotate" and r["design"] == "hub"
    }
    # Then the cleanup and the reconcile each have a steady row and a 5 % due row (and their extrapolations)
    assert set(rows) == {
        (job, n, state) for job in ("cleanup", "reconcile") for n in (3, 6) for state in ("steady", "5% due")
    }
    for job in ("cleanup", "reconcile"):
        steady, due = rows[(job, 3, "steady")], rows[(job, 3, "5% due")]
        # Every account done and read in bulk in the steady state, nothing changed
        assert steady["accounts_done"] == 3 and steady["accounts_failed"] == [] and steady["actions"] == 0
        assert steady["per_account"]["iam_reads"] <= 10 and steady["per_account"]["sts"] == 1
        # With users due, the job acts in every account without a failed action
        assert due["accounts_done"] == 3 and due["actions"] >= 3 and due["actions_failed"] == 0, due
        assert due["per_account"]["iam_writes"] > 0
    assert any("cleanup steady" in line for line in results["targets"])


def test_the_map_is_modelled_as_accounts_started_on_the_first_free_concurrency_slot() -> None:
    from bench.org import makespan

    # Given accounts of 3, 1, 1, 1 seconds, two slots: the 3 s account on one, the three others after each other
    assert makespan([3.0, 1.0, 1.0, 1.0], 2) == 3.0
    assert makespan([1.0] * 10, 10) == 1.0
    assert makespan([1.0] * 11, 10) == 2.0
    assert makespan([2.0, 2.0, 2.0], 1) == 6.0
