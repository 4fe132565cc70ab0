"""Runs the three scheduled functions over seeded moto accounts in bulk and scan mode, counts AWS calls by
operation, times them, measures each scheduled function's first invocation in a fresh interpreter, and writes
bench-out/results.json and bench-out/results.md; then the organization rows (bench/org.py). Usage:
python -m bench.run [--sizes 100,1000,5000] [--org-sizes 10x1000,100x100]"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent

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
    latency_seconds: float  # wall + calls x LATENCY_SECONDS: the run as if every call waited that long
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


def invoke(function: str, mode: str, *, traced: bool = False) -> tuple[Counter[str], float, float, dict[str, Any]]:
    """One scheduled invocation in a fresh execution environment: calls by operation, wall time, peak MiB
    (tracemalloc when `traced`, else the growth of the peak RSS), report."""
    from bench.scan import scan_mode
    from key_lifecycle.handlers import common

    common.reset_cold_start()
    # Service models parsed once per benchmark, not per run: the runs compare calls, not JSON parsing.
    boto3.session.Session = _session_with_shared_models  # type: ignore[misc]
    aws = common.get_aws()
    calls: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> Any:
        calls[f"{model.service_model.endpoint_prefix}:{model.name}"] += 1
        if model.name == "ListServiceSpecificCredentials":
            # Not implemented by moto 5.2.5; no seeded user holds any.
            return _Http(), {"ServiceSpecificCredentials": []}
        return None

    aws.session.events.register("before-call", count)
    handler = importlib.import_module(f"key_lifecycle.handlers.{function}")
    event = FUNCTIONS[function][0]
    # tracemalloc slows every allocation three times over, so a traced run is never the timed one.
    if traced:
        tracemalloc.start()
    rss_before = _rss_mib("VmRSS") if _reset_peak_rss() else float("nan")
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), scan_mode() if mode == "scan" else contextlib.nullcontext():
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
    from key_lifecycle.models.settings import Settings

    with mock_aws():
        with _phase("seeding"):
            seeded = seed_account(users, users // UNMANAGED_SHARE, Settings(), datetime.now(UTC), due=due_kind)  # type: ignore[arg-type]
            _pregenerate_report()
        yield seeded


def measure(users: int, function: str, state: str, mode: str, steady: Any = None) -> Row:
    """One run in an account of its own, or for the steady state in `steady`, the account every steady-state
    run shares (such a run changes nothing)."""
    due_kind = FUNCTIONS[function][1] if state != "steady" else "none"
    with contextlib.nullcontext(steady) if steady is not None else seeded_account(users, due_kind) as seeded:
        calls, wall, rss, report = invoke(function, mode)
        peak = float("nan")
        if mode == "bulk" and state == "steady":
            # A steady-state run changes nothing, so it can be repeated, traced (tracing slows it three times over).
            with _phase("traced repeats"):
                _, _, peak, _ = invoke(function, mode, traced=True)
    # The latency is virtual: each call is counted, not slept, so the figure is the run's own time plus the calls'
    # waiting. A steady-state run calls one after another, so this is what it would take; runs with due users
    # work on four users at a time, so for them it is an upper bound.
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


def _fast_moto_secrets() -> None:
    """moto finds a secret by comparing the id with every secret's name and ARN: 5,000 comparisons a call, and a
    seeding that grows with the square of the users. Its store is keyed by name, so an id that is not an ARN is
    looked up directly, with the same answer; ARNs take moto's own path. Emulator cost only, not the functions'."""
    from moto.secretsmanager.models import SecretsStore

    original = {name: getattr(SecretsStore, name) for name in ("__getitem__", "__contains__", "get", "pop")}

    def by_name(key: object) -> bool:
        return isinstance(key, str) and not key.startswith("arn:")

    def getitem(self: dict[str, Any], key: str) -> Any:
        return dict.__getitem__(self, key) if by_name(key) else original["__getitem__"](self, key)

    def contains(self: dict[str, Any], key: str) -> bool:
        return dict.__contains__(self, key) if by_name(key) else original["__contains__"](self, key)

    def get(self: dict[str, Any], key: str) -> Any:
        return dict.get(self, key) if by_name(key) else original["get"](self, key)

    def pop(self: dict[str, Any], key: str) -> Any:
        return dict.pop(self, key, None) if by_name(key) else original["pop"](self, key)

    SecretsStore.__getitem__ = getitem  # type: ignore[method-assign]
    SecretsStore.__contains__ = contains  # type: ignore[method-assign]
    SecretsStore.get = get  # type: ignore[method-assign]
    SecretsStore.pop = pop  # type: ignore[method-assign]


# Where the benchmark's own time goes (seconds by phase), written with the results.
PHASES: defaultdict[str, float] = defaultdict(float)


@contextlib.contextmanager
def _phase(name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        PHASES[name] += time.perf_counter() - started


# First invocation ---------------------------------------------------------------------------------------------

SCHEDULED_EVENTS = {"create_keys": {"action": "reconcile"}, "rotate_keys": {}, "cleanup_users": {}}
BARE_HANDLER = """import boto3

_iam = None


def lambda_handler(event, context):
    global _iam
    if _iam is None:
        _iam = boto3.client("iam")
    return _iam.list_users(MaxItems=1)["IsTruncated"]
"""
# A cold start as Lambda runs it: import (init), then the first invocation, then a warm one for comparison. The
# functions' package is the installed one; the bare handler is a module in the interpreter's working directory.
_INVOKER = """import json, sys, time
class Context:
    function_name = "bench"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "bench"
    def get_remaining_time_in_millis(self):
        return 900000
t0 = time.perf_counter()
import {module} as handler
t1 = time.perf_counter()
loaded = set(sys.modules)
handler.lambda_handler(json.loads({event!r}), Context())
t2 = time.perf_counter()
first = sorted(set(sys.modules) - loaded)
handler.lambda_handler(json.loads({event!r}), Context())
t3 = time.perf_counter()
print("BENCH-RESULT " + json.dumps({{"import": t1 - t0, "first": t2 - t1, "warm": t3 - t2, "modules": first}}))
"""


@dataclass
class _Case:
    label: str
    module: str
    env: dict[str, str]


def _base_env() -> dict[str, str]:
    drop = {"LAMBDA_TASK_ROOT", "PYTHONPATH", "PYTHONPYCACHEPREFIX", "AWS_ENDPOINT_URL"}
    return {k: v for k, v in os.environ.items() if k not in drop}


def _run(case: _Case, script: str, cwd: Path) -> str:
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env=case.env,
        cwd=str(cwd),
        timeout=300,
    )
    return out.stdout


def _interleaved(cases: list[_Case], runs: int, sample: Any) -> dict[str, list[Any]]:
    """`runs` rounds, each case once a round in a shuffled order, so a slow spell of a shared machine falls on
    every case alike rather than on whichever was measured then."""
    samples: dict[str, list[Any]] = {case.label: [] for case in cases}
    order = random.Random(6)  # noqa: S311 - an order, not a secret
    for _ in range(runs):
        for case in order.sample(cases, len(cases)):
            samples[case.label].append(sample(case))
    return samples


def first_invocations(runs: int = 5, users: int = 100) -> list[dict[str, Any]]:
    """Each scheduled function's cold start as Lambda runs it, in a fresh interpreter holding nothing but the
    function: import, first invocation, and a second (warm) one, against a steady-state account of `users`
    managed users served by moto in a process of its own on 127.0.0.1. What the first invocation costs over the
    warm one is its clients' creation and anything imported on first use."""
    emulator = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "bench.emulator", "--users", str(users)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=str(ROOT),
        env=_base_env(),
    )
    try:
        assert emulator.stdout is not None
        port = int(emulator.stdout.readline())
        env = {
            **_base_env(),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        }
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "bare_boto3_handler.py").write_text(BARE_HANDLER)
            cases = [_Case("bare boto3 handler (one IAM call)", "bare_boto3_handler", env)]
            cases += [_Case(name, f"key_lifecycle.handlers.{name}", env) for name in SCHEDULED_EVENTS]
            events = {case.label: json.dumps(SCHEDULED_EVENTS.get(case.module.split(".")[-1], {})) for case in cases}

            def sample(case: _Case) -> dict[str, Any]:
                script = _INVOKER.format(module=case.module, event=events[case.label])
                line = next(ln for ln in _run(case, script, Path(tmp)).splitlines() if ln.startswith("BENCH-RESULT "))
                result: dict[str, Any] = json.loads(line.split(" ", 1)[1])
                return result

            samples = _interleaved(cases, runs, sample)
    finally:
        if emulator.stdin is not None:
            emulator.stdin.close()
        emulator.wait(timeout=60)
    rows = []
    for case in cases:
        got = samples[case.label]
        modules = got[-1]["modules"]
        own = sorted({m.split(".")[0] for m in modules if not m.startswith(("botocore", "boto3", "urllib3"))})
        rows.append(
            {
                "function": case.label,
                "import_seconds": round(statistics.median(s["import"] for s in got), 3),
                "first_seconds": round(statistics.median(s["first"] for s in got), 3),
                "warm_seconds": round(statistics.median(s["warm"] for s in got), 3),
                "first_extra_seconds": round(statistics.median(s["first"] - s["warm"] for s in got), 3),
                "modules_first_imported": len(modules),
                "packages_first_imported": own,
            }
        )
    return rows


# Output -------------------------------------------------------------------------------------------------------


def _top(calls: dict[str, int], limit: int = 4) -> str:
    ranked = sorted(calls.items(), key=lambda item: -item[1])[:limit]
    return ", ".join(f"{op.split(':', 1)[1]} {n}" for op, n in ranked)


def markdown(rows: list[Row], first: list[dict[str, Any]]) -> str:
    lines = [
        "| users | function | state | mode | IAM reads | IAM writes | other calls | top operations | wall s | "
        "with 50 ms/call s | peak MiB (traced) | peak RSS growth MiB |",
        "|---:|---|---|---|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        mode = f"{r.mode} (extrapolated)" if r.extrapolated else r.mode
        peak = "-" if r.peak_mib != r.peak_mib else f"{r.peak_mib}"  # nan: not traced
        rss = "-" if r.rss_growth_mib != r.rss_growth_mib else f"{r.rss_growth_mib}"
        lines.append(
            f"| {r.users} | {r.function} | {r.state} ({r.due_users} due) | {mode} | {r.iam_reads} | {r.iam_writes} | "
            f"{r.other_calls} | {_top(r.calls)} | {r.wall_seconds} | {r.latency_seconds} | {peak} | {rss} |"
        )
    lines += [
        "",
        "| first invocation | import s | first invocation s | warm invocation s | first - warm s | "
        "modules first imported | of which not botocore/boto3/urllib3 |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for f in first:
        packages = ", ".join(f["packages_first_imported"]) or "-"
        lines.append(
            f"| {f['function']} | {f['import_seconds']} | {f['first_seconds']} | {f['warm_seconds']} | "
            f"{f['first_extra_seconds']} | {f['modules_first_imported']} | {packages} |"
        )
    return "\n".join(lines) + "\n"


def targets(rows: list[Row]) -> list[str]:
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
    return out


def notes(scanned: list[int], first_runs: int, first_users: int) -> str:
    return (
        "\nNotes: moto in process with IAM paging and a credential report as AWS serves them "
        "(local_account/emulator/paging.py); users seeded through moto's backend objects; one unmanaged user per "
        "ten managed; calls counted by a botocore before-call hook on the functions' own session. Wall time includes "
        "moto serving the calls in the same process (two shared CPU cores). "
        f"'with 50 ms/call': a virtual latency — every call is counted, none waits — so the figure is the run's wall "
        f"time + calls x {LATENCY_SECONDS * 1000:.0f} ms: what a steady-state run (one call after another) takes, "
        "and an upper bound for runs with due users (four users at a time, no overlap assumed). "
        "'peak MiB (traced)': the largest Python heap during a second, tracemalloc-traced repeat of a steady-state "
        "bulk run (tracing slows runs three times over, so no timed run is traced). "
        "'peak RSS growth': how far the process's peak resident memory rose above its size before the run (Linux "
        "VmHWM; includes moto's side; 0 when freed memory was reused). "
        f"'scan (extrapolated)': the per-user scan was run up to {max(scanned, default=0)} users; larger sizes extend "
        "its calls and wall time linearly from the two largest measured sizes. "
        f"First invocation: median of {first_runs} fresh interpreters per function against a "
        f"steady-state account of {first_users} managed users served by moto in another process on 127.0.0.1: "
        "import, the first scheduled invocation, then a second one; 'first - warm' is the clients' creation plus "
        "whatever is imported on first use.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000,5000")
    parser.add_argument("--out", default=str(ROOT / "bench-out"))
    parser.add_argument("--first-runs", type=int, default=5)
    parser.add_argument("--first-users", type=int, default=100)
    parser.add_argument(
        "--scan-max", type=int, default=1000, help="largest size the per-user scan runs at (it costs 3 calls a user)"
    )
    parser.add_argument(
        "--org-sizes",
        default="10x1000,100x100",
        help="organization rows: accounts x managed users per account, comma-separated ('' for none); "
        "100x1000 takes about 10 minutes here",
    )
    parser.add_argument(
        "--org-extrapolate",
        default="100x1000",
        help="sizes not run but extrapolated from the measured size with the same users per account",
    )
    parser.add_argument(
        "--org-peer-sample", type=int, default=1, help="accounts the peer's per-user scan runs in (seeded alike)"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    _environment()
    # Measured first, in fresh interpreters, before this process holds thousands of users.
    with _phase("first invocation"):
        first = first_invocations(args.first_runs, args.first_users)
    for f in first:
        print(
            f"first invocation {f['function']:<34} import {f['import_seconds']:.3f}s first {f['first_seconds']:.3f}s "
            f"warm {f['warm_seconds']:.3f}s",
            flush=True,
        )
    from local_account.emulator import paging

    paging.install()
    _fast_moto_dispatch()
    _fast_moto_secrets()
    for function in FUNCTIONS:
        # Imported ahead: the runs measure invocations (the first invocations above include the imports).
        importlib.import_module(f"key_lifecycle.handlers.{function}")
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
                    with _phase("runs and their seeding"):
                        row = measure(users, function, state, mode, steady)
                rows.append(row)
                print(
                    f"{users:>5} {function:<13} {state:<7} {mode:<4}{'*' if row.extrapolated else ' '} "
                    f"IAM reads {row.iam_reads:>6} writes {row.iam_writes:>5} other {row.other_calls:>5} "
                    f"wall {row.wall_seconds:>7.2f}s 50ms/call {row.latency_seconds:>7.1f}s "
                    f"peak {row.peak_mib:>6.1f} MiB rss+ {row.rss_growth_mib:>6.1f} MiB",
                    flush=True,
                )
    from bench import org

    org_sizes = org.parse_sizes(args.org_sizes)
    extrapolated = org.parse_sizes(args.org_extrapolate) if org_sizes else []
    org_rows = org.run_sizes(org_sizes, extrapolated, args.org_peer_sample)
    order = {name: index for index, name in enumerate([*FUNCTIONS, *states, *modes])}
    rows.sort(key=lambda r: (r.users, order[r.function], order[r.state], order[r.mode]))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    checks = targets(rows) + org.targets(org_rows)
    PHASES["total"] = time.perf_counter() - started
    phases = {name: round(seconds, 1) for name, seconds in PHASES.items()}
    (out / "results.json").write_text(
        json.dumps(
            {
                "rows": [asdict(r) for r in rows],
                "first_invocation": first,
                "organization_rows": [asdict(r) for r in org_rows],
                "targets": checks,
                "bench_seconds": phases,
                "generated": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            indent=1,
        )
    )
    text = (
        markdown(rows, first)
        + notes(scanned, args.first_runs, args.first_users)
        + ("\n" + org.markdown(org_rows) + org.notes() if org_rows else "")
        + "\n"
        + "\n".join(f"- {line}" for line in checks)
        + "\n\nBenchmark time by phase (s; seeding and traced repeats are part of the runs): "
        + ", ".join(f"{name} {seconds}" for name, seconds in phases.items())
        + "\n"
    )
    (out / "results.md").write_text(text)
    print()
    print(text)


if __name__ == "__main__":
    # Run as the module bench.run, not as __main__, so bench.org shares its state (the session class, the phases).
    from bench import run as bench_run

    bench_run.main()
