"""Runs the three scheduled functions over seeded moto accounts in bulk and scan mode, counts AWS calls by
operation, times them, and writes bench-out/results.json and bench-out/results.md. Usage:
python -m bench.run [--sizes 100,1000,5000]"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import importlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]

LATENCY_SECONDS = 0.05
UNMANAGED_SHARE = 10  # one unmanaged user per ten managed ones
FUNCTIONS = {
    "create_keys": ({"action": "reconcile"}, "reconcile"),
    "rotate_keys": ({}, "rotate"),
    "cleanup_users": ({}, "cleanup"),
}
IAM_WRITE_PREFIXES = ("Create", "Delete", "Update", "Tag", "Untag", "Put", "Add", "Remove", "Attach", "Detach")


@dataclass
class Row:
    users: int
    function: str
    state: str  # "steady" | "5% due"
    mode: str  # "bulk" | "scan"
    due_users: int
    calls: dict[str, int]
    iam_reads: int
    iam_writes: int
    other_calls: int
    wall_seconds: float
    peak_mib: float
    latency_seconds: float  # the run with LATENCY_SECONDS a call
    latency_measured: bool  # True: slept for real in the run; False: wall + calls x latency (no overlap assumed)
    rss_growth_mib: float  # peak resident memory of the process during the run, above its size before the run
    actions: int
    failed: int
    extrapolated: bool = False  # True: not run; calls and time extended linearly from the two smaller sizes
    extra: dict[str, Any] = field(default_factory=dict)


_ORIGINAL_SESSION: Any = None


def _environment() -> None:
    global _ORIGINAL_SESSION
    _ORIGINAL_SESSION = boto3.session.Session
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
    )


class _Http:
    status_code = 200


_LOADER: Any = None


def _session_with_shared_models() -> Any:
    global _LOADER
    import botocore.loaders
    import botocore.session

    if _LOADER is None:
        _LOADER = botocore.loaders.create_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", _LOADER)
    return _ORIGINAL_SESSION(botocore_session=core)


class _Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"

    def get_remaining_time_in_millis(self) -> int:
        return 900_000


def _classify(calls: Counter[str]) -> tuple[int, int, int]:
    reads = writes = other = 0
    for key, count in calls.items():
        service, operation = key.split(":", 1)
        if service != "iam":
            other += count
        elif operation.startswith(IAM_WRITE_PREFIXES):
            writes += count
        else:
            reads += count
    return reads, writes, other


def _rss_mib(field_name: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets VmHWM, the peak resident set size (Linux)
        return True
    except OSError:
        return False


def invoke(
    function: str, mode: str, *, sleep_per_call: float = 0.0, traced: bool = False
) -> tuple[Counter[str], float, float, dict[str, Any]]:
    """One scheduled invocation in a fresh execution environment: calls by operation, wall time, peak MiB
    (tracemalloc when `traced`, else the growth of the peak RSS), report."""
    from handlers import common

    common.reset_cold_start()
    common.READ_MODE = mode  # type: ignore[assignment]
    # Service models parsed once per benchmark, not per run: the runs compare calls, not JSON parsing.
    boto3.session.Session = _session_with_shared_models  # type: ignore[misc]
    aws = common.get_aws()
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> Any:
        calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1
        if sleep_per_call:
            time.sleep(sleep_per_call)
        if model.name == "ListServiceSpecificCredentials":
            # Not implemented by moto 5.2.5; no seeded user holds any.
            return _Http(), {"ServiceSpecificCredentials": []}
        return None

    aws.session.events.register("before-call", count)
    handler = importlib.import_module(f"handlers.{function}")
    event = FUNCTIONS[function][0]
    # tracemalloc slows every allocation three times over, so a traced run is never the timed one.
    if traced:
        tracemalloc.start()
    rss_before = _rss_mib("VmRSS") if _reset_peak_rss() else float("nan")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        report = handler.lambda_handler(dict(event), _Context())
    wall = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else _rss_mib("VmHWM") - rss_before
    if traced:
        tracemalloc.stop()
    return calls, wall, peak, report


def _pregenerate_report() -> None:
    # The hourly reconcile keeps a recent credential report around; a daily run finds one under 4 hours old.
    import boto3

    iam = boto3.client("iam")
    while iam.generate_credential_report()["State"] != "COMPLETE":
        time.sleep(0.1)


@contextlib.contextmanager
def seeded_account(users: int, due_kind: str) -> Iterator[Any]:
    from moto import mock_aws

    from bench.seed import seed_account
    from models.settings import Settings

    with mock_aws():
        seeded = seed_account(users, users // UNMANAGED_SHARE, Settings(), datetime.now(UTC), due=due_kind)  # type: ignore[arg-type]
        _pregenerate_report()
        yield seeded


def measure(users: int, function: str, state: str, mode: str, steady: Any = None) -> Row:
    """One run in an account of its own, or for the steady state in `steady`, the account every steady-state
    run shares (such a run changes nothing)."""
    due_kind = FUNCTIONS[function][1] if state != "steady" else "none"
    with contextlib.nullcontext(steady) if steady is not None else seeded_account(users, due_kind) as seeded:
        calls, wall, rss, report = invoke(function, mode)
        # A steady-state run changes nothing, so it can be repeated: once sleeping before every call, once traced.
        latency_measured = mode == "bulk" and state == "steady"
        peak = float("nan")
        if latency_measured:
            _, latency, _, _ = invoke(function, mode, sleep_per_call=LATENCY_SECONDS)
            _, _, peak, _ = invoke(function, mode, traced=True)
        else:
            latency = wall + sum(calls.values()) * LATENCY_SECONDS
    reads, writes, other = _classify(calls)
    actions = report.get("actions", [])
    return Row(
        users=users,
        function=function,
        state=state,
        mode=mode,
        due_users=len(seeded.due),
        calls=dict(sorted(calls.items())),
        iam_reads=reads,
        iam_writes=writes,
        other_calls=other,
        wall_seconds=round(wall, 3),
        peak_mib=round(peak, 1),
        latency_seconds=round(latency, 2),
        latency_measured=latency_measured,
        rss_growth_mib=round(rss, 1),
        actions=len(actions),
        failed=sum(1 for a in actions if a.get("status") == "failed"),
    )


def extrapolate(small: Row, large: Row, users: int) -> Row:
    """A run too long to make (the per-user scan at 5,000 users), extended linearly from two measured sizes: its
    calls are a fixed number per user plus one page call per 100 or 1,000, so linear is exact up to rounding."""

    def line(a: float, b: float) -> float:
        return a + (b - a) * (users - small.users) / (large.users - small.users)

    calls = {
        op: round(line(small.calls.get(op, 0), large.calls.get(op, 0))) for op in sorted({*small.calls, *large.calls})
    }
    reads, writes, other = _classify(Counter(calls))
    wall = line(small.wall_seconds, large.wall_seconds)
    return Row(
        users=users,
        function=large.function,
        state=large.state,
        mode=large.mode,
        due_users=round(line(small.due_users, large.due_users)),
        calls=calls,
        iam_reads=reads,
        iam_writes=writes,
        other_calls=other,
        wall_seconds=round(wall, 3),
        peak_mib=float("nan"),
        latency_seconds=round(wall + sum(calls.values()) * LATENCY_SECONDS, 2),
        latency_measured=False,
        rss_growth_mib=float("nan"),
        actions=round(line(small.actions, large.actions)),
        failed=0,
        extrapolated=True,
    )


def _fast_moto_dispatch() -> None:
    """moto lists every method of its response class (inspect.getmembers) to dispatch each request, ~1 ms a
    call; a membership test that looks the one name up answers the same. Emulator cost only, not the functions'."""
    import inspect

    import moto.core.responses

    class _Methods:
        def __init__(self, cls: type) -> None:
            self.cls = cls

        def __contains__(self, name: object) -> bool:
            return isinstance(name, str) and inspect.isfunction(getattr(self.cls, name, None))

    moto.core.responses.method_names_from_class = _Methods  # type: ignore[assignment]


# Cold start ---------------------------------------------------------------------------------------------------

_TIMER = (
    "import time, importlib, sys; sys.path.insert(0, {path!r}); t = time.perf_counter(); "
    "importlib.import_module({module!r}); print(time.perf_counter() - t)"
)


def _import_seconds(module: str, path: str, env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
            [sys.executable, "-c", _TIMER.format(path=path, module=module)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=str(ROOT),
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def cold_start(runs: int = 7) -> list[dict[str, Any]]:
    """Import time of each handler module in a fresh interpreter against a handler that only imports boto3.

    Both sides with bytecode compiled ahead (as the installed boto3 and the Powertools layer are); then the
    handlers from .py sources alone, compiled at import, as an asset without .pyc files is run."""
    env = {k: v for k, v in os.environ.items() if k not in {"LAMBDA_TASK_ROOT", "PYTHONPATH", "PYTHONPYCACHEPREFIX"}}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        compiled, source = Path(tmp, "compiled"), Path(tmp, "source")
        for target in (compiled, source):
            shutil.copytree(ROOT / "lambdas", target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        (compiled / "bare_boto3_handler.py").write_text(
            "import boto3\n\n\ndef lambda_handler(event, context):\n    return boto3.__version__\n"
        )
        compileall.compile_dir(compiled, quiet=1)
        bare = _import_seconds("bare_boto3_handler", str(compiled), env, runs)
        rows.append({"module": "bare boto3 handler", "seconds": round(bare, 3), "ratio": 1.0})

        def row(label: str, module: str, path: Path, environment: dict[str, str]) -> None:
            seconds = _import_seconds(module, str(path), environment, runs)
            rows.append({"module": label, "seconds": round(seconds, 3), "ratio": round(seconds / bare, 2)})

        for function in FUNCTIONS:
            row(f"handlers.{function}", f"handlers.{function}", compiled, env)
        traced = {**env, "LAMBDA_TASK_ROOT": str(compiled), "POWERTOOLS_TRACE_DISABLED": "false"}
        row("handlers.rotate_keys, X-Ray tracing on", "handlers.rotate_keys", compiled, traced)
        no_bytecode = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        for function in FUNCTIONS:
            row(f"handlers.{function}, from .py sources", f"handlers.{function}", source, no_bytecode)
    return rows


# Output -------------------------------------------------------------------------------------------------------


def _top(calls: dict[str, int], limit: int = 4) -> str:
    ranked = sorted(calls.items(), key=lambda item: -item[1])[:limit]
    return ", ".join(f"{op.split(':', 1)[1]} {n}" for op, n in ranked)


def markdown(rows: list[Row], cold: list[dict[str, Any]]) -> str:
    lines = [
        "| users | function | state | mode | IAM reads | IAM writes | other calls | top operations | wall s | "
        "with 50 ms/call s | peak MiB (traced) | peak RSS growth MiB |",
        "|---:|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        latency = f"{r.latency_seconds}" + ("" if r.latency_measured else " (computed)")
        mode = f"{r.mode} (extrapolated)" if r.extrapolated else r.mode
        peak = "-" if r.peak_mib != r.peak_mib else f"{r.peak_mib}"  # nan: not traced
        rss = "-" if r.rss_growth_mib != r.rss_growth_mib else f"{r.rss_growth_mib}"
        lines.append(
            f"| {r.users} | {r.function} | {r.state} ({r.due_users} due) | {mode} | {r.iam_reads} | {r.iam_writes} | "
            f"{r.other_calls} | {_top(r.calls)} | {r.wall_seconds} | {latency} | {peak} | {rss} |"
        )
    lines += ["", "| cold import | seconds (median) | ratio to bare boto3 |", "|---|---:|---:|"]
    lines += [f"| {c['module']} | {c['seconds']} | {c['ratio']} |" for c in cold]
    return "\n".join(lines) + "\n"


def targets(rows: list[Row], cold: list[dict[str, Any]]) -> list[str]:
    """The issue's targets, checked against the figures."""
    out = []
    largest = max(r.users for r in rows)
    for function in FUNCTIONS:
        pick = {(r.state, r.mode): r for r in rows if r.users == largest and r.function == function}
        bulk, scan = pick.get(("steady", "bulk")), pick.get(("steady", "scan"))
        if bulk and not scan:
            out.append(
                f"{function} steady, {largest} users: {bulk.iam_reads} IAM reads (target <= 10: "
                f"{'met' if bulk.iam_reads <= 10 else 'MISSED'}); scan not run at this size; "
                f"with 50 ms/call {bulk.latency_seconds} s"
            )
        if bulk and scan:
            ratio = (scan.iam_reads / bulk.iam_reads) if bulk.iam_reads else float("inf")
            scanned = "extrapolated scan" if scan.extrapolated else "scan"
            out.append(
                f"{function} steady, {largest} users: {bulk.iam_reads} IAM reads (target <= 10: "
                f"{'met' if bulk.iam_reads <= 10 else 'MISSED'}); {scanned} {scan.iam_reads}, {ratio:.0f}x fewer "
                f"(target >= 500x: {'met' if ratio >= 500 else 'MISSED'}); with 50 ms/call {bulk.latency_seconds} s"
            )
    for c in cold[1:4]:
        verdict = "met" if c["ratio"] <= 1.5 else "MISSED"
        out.append(f"{c['module']} cold import {c['ratio']}x bare boto3 (target <= 1.5x: {verdict})")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--out", default=str(ROOT / "bench-out"))
    parser.add_argument("--cold-runs", type=int, default=7)
    parser.add_argument(
        "--scan-max", type=int, default=1000, help="largest size the per-user scan runs at (it costs 3 calls a user)"
    )
    args = parser.parse_args()
    _environment()
    from local_account.emulator import paging

    paging.install()
    _fast_moto_dispatch()
    for function in FUNCTIONS:
        # Module imports are the cold-start figures below; the runs measure invocations.
        importlib.import_module(f"handlers.{function}")
    started = time.perf_counter()
    rows: list[Row] = []
    sizes = [int(size) for size in args.sizes.split(",")]
    scanned = [size for size in sizes if size <= args.scan_max]
    states, modes = ("steady", "5% due"), ("bulk", "scan")
    for users, state in [(users, state) for users in sizes for state in states]:
        with seeded_account(users, "none") if state == "steady" else contextlib.nullcontext() as steady:
            for function, mode in [(function, mode) for function in FUNCTIONS for mode in modes]:
                if mode == "scan" and users > args.scan_max:
                    if len(scanned) < 2:
                        continue
                    pick = {(r.users, r.function, r.state, r.mode): r for r in rows}
                    small, large = (pick[(size, function, state, mode)] for size in scanned[-2:])
                    row = extrapolate(small, large, users)
                else:
                    row = measure(users, function, state, mode, steady)
                rows.append(row)
                print(
                    f"{users:>5} {function:<13} {state:<7} {mode:<4}{'*' if row.extrapolated else ' '} "
                    f"IAM reads {row.iam_reads:>6} writes {row.iam_writes:>5} other {row.other_calls:>5} "
                    f"wall {row.wall_seconds:>7.2f}s 50ms/call {row.latency_seconds:>7.1f}s "
                    f"peak {row.peak_mib:>6.1f} MiB rss+ {row.rss_growth_mib:>6.1f} MiB",
                    flush=True,
                )
    order = {name: index for index, name in enumerate([*FUNCTIONS, *states, *modes])}
    rows.sort(key=lambda r: (r.users, order[r.function], order[r.state], order[r.mode]))
    runs_seconds = time.perf_counter() - started
    cold = cold_start(args.cold_runs)
    for c in cold:
        print(f"cold import {c['module']:<40} {c['seconds']:.3f}s  {c['ratio']}x", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checks = targets(rows, cold)
    (out / "results.json").write_text(
        json.dumps(
            {
                "rows": [asdict(r) for r in rows],
                "cold_start": cold,
                "targets": checks,
                "runs_seconds": round(runs_seconds, 1),
                "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=1,
        )
    )
    notes = (
        "\nNotes: moto in process with IAM paging and a credential report as AWS serves them "
        "(local_account/emulator/paging.py); users seeded through moto's backend objects; one unmanaged user per "
        "ten managed; calls counted by a botocore before-call hook on the functions' own session. Wall time includes "
        "moto serving the calls in the same process (two shared CPU cores). "
        f"'with 50 ms/call': steady-state bulk runs repeated sleeping {LATENCY_SECONDS * 1000:.0f} ms before every "
        "call for real; the others are computed as wall time + calls x 50 ms (no overlap of the 4 worker threads "
        "assumed, so an upper bound). 'peak MiB (traced)': the largest Python heap during a third, tracemalloc-traced "
        "repeat of a steady-state bulk run (tracing slows runs three times over, so no timed run is traced). "
        "'peak RSS growth': how far the process's peak resident memory rose above its size before the run (Linux "
        "VmHWM; includes moto's side; 0 when freed memory was reused). "
        f"'scan (extrapolated)': the per-user scan was run up to {max(scanned, default=0)} users; larger sizes extend "
        "its calls and wall time linearly from the two largest measured sizes. "
        f"Cold import: median of {args.cold_runs} fresh interpreters, import of the handler module only; the "
        "target is checked with bytecode compiled ahead on both sides; 'from .py sources' adds compiling the "
        "project's modules at import, as happens when the deployment package holds no .pyc files.\n\n"
        + "\n".join(f"- {line}" for line in checks)
        + "\n"
    )
    text = markdown(rows, cold) + notes
    (out / "results.md").write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    main()
