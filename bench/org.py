"""The organization rows of `make bench`: N member accounts x M managed users in moto, one scheduled job run the way
the hub's state machine runs it (list_accounts, the job once per account with its `account_id`, aggregate_runs over
the map's result files), calls counted per account, and the whole run's wall time modelled at a map concurrency;
beside it the peer's design (one asynchronous invoke per account, no retry, a per-user scan) on the same data."""

from __future__ import annotations

import contextlib
import heapq
import importlib
import io
import json
import math
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import boto3

from bench import run as bench_run
from bench.seed import Due

HUB_ACCOUNT = "123456789012"  # moto's default account: the hub (and the organization's management account)
JOB_FUNCTION = "rotate_keys"  # the daily rotation, the job the organization rows run first
JOB = "rotate"
# Every scheduled job the hub's state machines run over the organization: (function, the schedule's input).
JOBS: dict[str, tuple[str, dict[str, Any]]] = {
    "rotate": ("rotate_keys", {}),
    "cleanup": ("cleanup_users", {}),
    "reconcile": ("create_keys", {"action": "reconcile"}),
}
OU_NAME = "Workloads"
RESULTS_BUCKET = "iam-key-lifecycle-runs"
CONCURRENCIES = (10, 40)
# The state machine's retry of a failed account (stacks/organization.py: States.TaskFailed, 30 s, backoff 2, two
# more attempts, full jitter): three attempts and, at most, 30 + 60 s of waiting, during which the child execution
# holds its concurrency slot.
FAILED_ATTEMPTS = 3
RETRY_WAIT_SECONDS = 30.0 + 60.0
TOLERATED_FAILURE_PERCENTAGE = 10.0  # the stack's default
FAILING_SHARE = 0.05  # "5 accounts failing" out of 100
TARGET_READS_PER_ACCOUNT = 10
TARGET_SECONDS = 300.0
TARGET_SIZE = (100, 1000)
CATEGORIES = ("iam_reads", "iam_writes", "sts", "organizations", "secretsmanager", "other")
TRUST_CONDITION_KEY = "aws:PrincipalOrgID"


@dataclass
class AccountRun:
    account_id: str
    calls: dict[str, int]
    wall_seconds: float
    failed: str | None = None  # why the invocation failed (its exception), None when it returned a report
    attempts: int = 1

    @property
    def call_count(self) -> int:
        return sum(self.calls.values())

    def modelled(self) -> float:
        """Its time in the map: every attempt's run time and calls x 50 ms, plus the retry waits between them."""
        one = self.wall_seconds + self.call_count * bench_run.LATENCY_SECONDS
        return self.attempts * one + (RETRY_WAIT_SECONDS if self.attempts > 1 else 0.0)


@dataclass
class OrgRow:
    accounts: int
    users: int  # managed users per account
    state: str  # "steady" | "5% due" | "steady, k failing"
    design: str  # "hub" | "peer"
    due_users: int  # per account
    per_account: dict[str, int]  # calls by category, the most any completed account made
    calls_by_operation: dict[str, int]  # the whole run's calls, by service:operation
    list_calls: int
    aggregate_calls: int
    run_seconds: float  # in process, list + every account (the peer: its sampled ones) + aggregate; nan: not run
    modelled_seconds: dict[str, float]  # by map concurrency ("10", "40"); the peer: "all" (every invoke at once)
    accounts_done: int
    accounts_failed: list[str]  # as the aggregate names them (the peer names none)
    failing: list[str]  # the accounts whose spoke role was deleted
    actions: int  # the actions the aggregate lists (the peer: those of its sampled accounts, times the accounts)
    actions_failed: int
    tolerated: bool  # whether the map run stays within the tolerated failure percentage
    list_wall: float = 0.0  # list_accounts' own run time (in process)
    aggregate_wall: float = 0.0  # aggregate_runs' own run time (in process)
    account_seconds: float = 0.0  # modelled time of the median completed account
    failed_account_seconds: float = 0.0  # modelled time of a failed account, its retries included
    extrapolated: bool = False
    sampled_accounts: int = 0  # the peer: accounts actually scanned (the others are seeded alike)
    notes: list[str] = field(default_factory=list)
    job: str = JOB  # the scheduled job run (JOBS)


# Counting calls on every session the functions make: the hub's and each member account's (AssumeRole) -----------

_COUNTER: list[Counter[str]] = []


def _count(model: Any, **_: Any) -> Any:
    if _COUNTER:
        _COUNTER[-1][f"{model.service_model.endpoint_prefix}:{model.name}"] += 1
    if model.name == "ListServiceSpecificCredentials":
        return bench_run._Http(), {"ServiceSpecificCredentials": []}  # not implemented by moto 5.2.5
    return None


def _counted_session(*args: Any, **kwargs: Any) -> Any:
    import botocore.loaders
    import botocore.session

    if bench_run._LOADER is None:
        bench_run._LOADER = botocore.loaders.create_loader()
    core = botocore.session.get_session()
    core.register_component("data_loader", bench_run._LOADER)
    session = bench_run._ORIGINAL_SESSION(*args, botocore_session=core, **kwargs)
    session.events.register("before-call", _count)
    return session


@contextlib.contextmanager
def _counted_sessions() -> Iterator[None]:
    """boto3.Session (the member accounts' sessions, built from AssumeRole's credentials) and boto3.session.Session
    (the hub's) both count calls, and share one parsed copy of the service models."""
    saved = boto3.Session, boto3.session.Session
    boto3.Session = boto3.session.Session = _counted_session
    try:
        yield
    finally:
        boto3.Session, boto3.session.Session = saved


def classify(calls: dict[str, int]) -> dict[str, int]:
    out = dict.fromkeys(CATEGORIES, 0)
    for key, count in calls.items():
        service, operation = key.split(":", 1)
        if service == "iam":
            out["iam_writes" if operation.startswith(bench_run.IAM_WRITE_PREFIXES) else "iam_reads"] += count
        elif service in out:
            out[service] += count
        else:
            out["other"] += count
    return out


def invoke(function: str, event: dict[str, Any]) -> tuple[Counter[str], float, dict[str, Any] | None, str | None]:
    """One invocation in a fresh execution environment: calls by operation, wall time, the report or the error."""
    from key_lifecycle.handlers import common

    common.reset_cold_start()
    handler = importlib.import_module(f"key_lifecycle.handlers.{function}")
    calls: Counter[str] = Counter()
    _COUNTER.append(calls)
    report: dict[str, Any] | None = None
    error: str | None = None
    started = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            report = handler.lambda_handler(dict(event), bench_run._Context())
    except Exception as exc:  # a failed invocation is a result here, as it is to the map
        error = json.dumps({"errorType": type(exc).__name__, "errorMessage": str(exc)})
    finally:
        _COUNTER.pop()
    return calls, time.perf_counter() - started, report, error


# The emulated organization -------------------------------------------------------------------------------------


@dataclass
class Organization:
    organization_id: str
    ou_id: str
    members: list[str]
    seeded_due: int


def _admin(account_id: str, service: str) -> Any:
    """An administrator's client in a member account (the role Organizations creates in the accounts it makes)."""
    credentials = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="bench-admin"
    )["Credentials"]
    return boto3.client(
        service,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def _spoke(account_id: str, organization_id: str) -> None:
    """What the spoke StackSet leaves in a member account and the engine uses by name: one role per function (trusted
    by the hub account within the organization), the temporary users' boundary and group."""
    from key_lifecycle.models.constants import (
        FUNCTIONS,
        SPOKE_BOUNDARY_POLICY_NAME,
        SPOKE_GROUP_NAME,
        SPOKE_PATH,
        SPOKE_SECRETS_KEY_ALIAS,
        spoke_role_name,
    )

    iam = _admin(account_id, "iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {TRUST_CONDITION_KEY: organization_id}},
            }
        ],
    }
    for function in FUNCTIONS:
        iam.create_role(RoleName=spoke_role_name(function), Path=SPOKE_PATH, AssumeRolePolicyDocument=json.dumps(trust))
    boundary = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.create_policy(PolicyName=SPOKE_BOUNDARY_POLICY_NAME, PolicyDocument=json.dumps(boundary))
    iam.create_group(GroupName=SPOKE_GROUP_NAME)
    kms = _admin(account_id, "kms")
    kms.create_alias(AliasName=SPOKE_SECRETS_KEY_ALIAS, TargetKeyId=kms.create_key()["KeyMetadata"]["KeyId"])


def _credential_report(account_id: str) -> None:
    """The hourly reconcile keeps a recent credential report in every account; a daily run finds one under 4 hours
    old (generated once the account's users are there)."""
    iam = _admin(account_id, "iam")
    while iam.generate_credential_report()["State"] != "COMPLETE":
        time.sleep(0.05)


def seed_organization(accounts: int, users: int, due: Due, *, populated: int | None = None) -> Organization:
    """The organization (the hub its management account), `accounts` members under one OU, each with its spoke, and
    in the first `populated` of them by id (default: all) `users` managed users seeded as bench/seed.py seeds them
    (plus one unmanaged user per ten)."""
    from bench.seed import seed_account
    from key_lifecycle.models.constants import SPOKE_SECRETS_KEY_ALIAS, spoke_boundary_arn
    from key_lifecycle.models.settings import Settings

    client = boto3.client("organizations")
    organization_id = client.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = client.list_roots()["Roots"][0]["Id"]
    ou_id = client.create_organizational_unit(ParentId=root_id, Name=OU_NAME)["OrganizationalUnit"]["Id"]
    members = []
    for number in range(accounts):
        status = client.create_account(Email=f"member{number}@example.com", AccountName=f"member-{number:03d}")
        account_id = status["CreateAccountStatus"]["AccountId"]
        client.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=ou_id)
        members.append(account_id)
    members.sort()  # the map's order: list_accounts returns them by id
    now = datetime.now(UTC)
    settings = Settings()
    seeded_due = 0
    for index, account_id in enumerate(members):
        _spoke(account_id, organization_id)
        if populated is not None and index >= populated:
            _credential_report(account_id)
            continue
        seeded = seed_account(
            users,
            users // bench_run.UNMANAGED_SHARE,
            settings,
            now,
            due=due,
            account_id=account_id,
            boundary_arn=spoke_boundary_arn("aws", account_id),
            kms_key_id=_admin(account_id, "kms").describe_key(KeyId=SPOKE_SECRETS_KEY_ALIAS)["KeyMetadata"]["Arn"],
        )
        seeded_due = len(seeded.due)
        _credential_report(account_id)
    boto3.client("s3").create_bucket(Bucket=RESULTS_BUCKET)
    return Organization(organization_id, ou_id, members, seeded_due)


@contextlib.contextmanager
def organization_mode(org: Organization) -> Iterator[None]:
    """The hub functions' organization settings, and AssumeRole judged as AWS judges it (a deleted spoke role, or a
    trust that does not allow the hub, is refused; moto alone lets any caller assume any role, even a missing one)."""
    from local_account.emulator import fidelity, trust, users

    trust.install()
    users.install()  # users' permissions boundaries, which moto does not keep
    saved = {name: os.environ.get(name) for name in ("ORGANIZATION_ID", "ORGANIZATION_TARGET_OUS")}
    os.environ.update({"ORGANIZATION_ID": org.organization_id, "ORGANIZATION_TARGET_OUS": org.ou_id})
    try:
        with fidelity.judging(), _counted_sessions():
            yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


# One organization run ------------------------------------------------------------------------------------------


def write_results(runs: list[AccountRun], reports: dict[str, dict[str, Any]], job: str = JOB) -> dict[str, str]:
    """The Distributed Map's ResultWriter output (docs/organization-engine.md): SUCCEEDED and FAILED files of child
    executions and the manifest listing them; returns the map's ResultWriterDetails."""
    s3 = boto3.client("s3")
    run_prefix = f"{job}/{uuid4()}"
    files: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    entries: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": []}
    for account in runs:
        entry: dict[str, Any] = {
            "ExecutionArn": f"arn:aws:states:us-east-1:{HUB_ACCOUNT}:execution:{job}/EachAccount:{account.account_id}",
            "Input": json.dumps({"account_id": account.account_id}),
            "InputDetails": {"Included": True},
            "Name": account.account_id,
        }
        if account.failed is None:
            entries["SUCCEEDED"].append(
                {**entry, "Status": "SUCCEEDED", "Output": json.dumps(reports[account.account_id])}
            )
        else:
            entries["FAILED"].append(
                {**entry, "Status": "FAILED", "Error": "States.TaskFailed", "Cause": account.failed}
            )
    for kind, items in entries.items():
        if items:
            key = f"{run_prefix}/{kind}_0.json"
            body = json.dumps(items).encode()
            s3.put_object(Bucket=RESULTS_BUCKET, Key=key, Body=body)
            files[kind].append({"Key": key, "Size": len(body)})
    manifest = {
        "DestinationBucket": RESULTS_BUCKET,
        "MapRunArn": f"arn:aws:states:::mapRun:{job}",
        "ResultFiles": files,
    }
    s3.put_object(Bucket=RESULTS_BUCKET, Key=f"{run_prefix}/manifest.json", Body=json.dumps(manifest).encode())
    return {"Bucket": RESULTS_BUCKET, "Key": f"{run_prefix}/manifest.json"}


def makespan(times: list[float], slots: int) -> float:
    """The accounts in the map's order, each started on the first concurrency slot to come free."""
    free = [0.0] * max(1, slots)
    for seconds in times:
        heapq.heappush(free, heapq.heappop(free) + seconds)
    return max(free)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3) if values else 0.0


def _modelled(calls: int, seconds: float) -> float:
    return seconds + calls * bench_run.LATENCY_SECONDS


@dataclass
class _Step:
    calls: Counter[str]
    wall: float

    def modelled(self) -> float:
        return _modelled(sum(self.calls.values()), self.wall)


def hub_run(org: Organization, failing: list[str], state: str, job: str = JOB) -> OrgRow:
    """list_accounts, the job in every listed account (in process, one after another), aggregate_runs."""
    function, schedule_input = JOBS[job]
    calls, wall, listed, error = invoke("create_keys", {"action": "list_accounts"})
    first = _Step(calls, wall)
    assert listed is not None and not listed["errors"], error or listed
    runs: list[AccountRun] = []
    reports: dict[str, dict[str, Any]] = {}
    for item in listed["accounts"]:
        account_id = item["account_id"]
        calls, wall, report, error = invoke(function, {**schedule_input, "account_id": account_id})
        account = AccountRun(account_id, dict(calls), wall, error, FAILED_ATTEMPTS if error else 1)
        runs.append(account)
        if report is not None:
            reports[account_id] = report
    details = write_results(runs, reports, job)
    calls, wall, aggregated, _ = invoke(
        "create_keys", {"action": "aggregate_runs", "job": job, "result_writer": details}
    )
    last = _Step(calls, wall)
    assert aggregated is not None, "aggregate_runs failed"
    section = aggregated["organization"]
    done = [r for r in runs if r.failed is None]
    per_account = {c: max((classify(r.calls)[c] for r in done), default=0) for c in CATEGORIES}
    total: Counter[str] = first.calls + last.calls
    for account in runs:
        total.update({op: n * account.attempts for op, n in account.calls.items()})
    times = [r.modelled() for r in runs]
    failed_named = [f["account_id"] for f in section["accounts_failed"]]
    share = 100 * len(failed_named) / max(1, len(runs))
    return OrgRow(
        accounts=len(runs),
        users=0,
        state=state,
        design="hub",
        due_users=org.seeded_due,
        per_account=per_account,
        calls_by_operation=dict(sorted(total.items())),
        list_calls=sum(first.calls.values()),
        aggregate_calls=sum(last.calls.values()),
        run_seconds=round(first.wall + sum(r.wall_seconds for r in runs) + last.wall, 2),
        modelled_seconds={
            str(c): round(first.modelled() + makespan(times, c) + last.modelled(), 1) for c in CONCURRENCIES
        },
        accounts_done=len(section["accounts_done"]),
        actions=len(section["actions"]),
        actions_failed=sum(1 for a in section["actions"] if a.get("status") == "failed"),
        accounts_failed=failed_named,
        failing=failing,
        tolerated=share <= TOLERATED_FAILURE_PERCENTAGE,
        list_wall=round(first.wall, 3),
        aggregate_wall=round(last.wall, 3),
        account_seconds=_median([r.modelled() for r in done]),
        failed_account_seconds=max((r.modelled() for r in runs if r.failed is not None), default=0.0),
        job=job,
    )


def peer_run(org: Organization, failing: list[str], state: str, sample: int) -> OrgRow:
    """aws-samples' design on the same accounts: its inventory lists the accounts, then one asynchronous invoke per
    account, all at once, each reading its account by the per-user scan; no retry, no run report. The scan is run
    in `sample` accounts (every account is seeded alike) and its figures stand for every account that works."""
    from bench.scan import scan_mode

    calls, wall, listed, _ = invoke("create_keys", {"action": "list_accounts"})
    first = _Step(calls, wall)
    assert listed is not None
    accounts = [item["account_id"] for item in listed["accounts"]]
    working = [a for a in accounts if a not in failing]
    scanned: list[AccountRun] = []
    actions: list[dict[str, Any]] = []
    with scan_mode():
        for account_id in working[:sample]:
            calls, wall, report, error = invoke(JOB_FUNCTION, {"account_id": account_id})
            actions += report["actions"] if report is not None else []
            # The organization check before the run is this project's; the peer's function assumes its role directly.
            kept = {op: n for op, n in calls.items() if not op.startswith("organizations:")}
            scanned.append(AccountRun(account_id, kept, wall, error))
    # Every working account as the scanned ones; a failing one costs its AssumeRole and is lost.
    runs = [scanned[index % len(scanned)] for index in range(len(working))] if scanned else []
    lost = [AccountRun(a, {"sts:AssumeRole": 1}, 0.0, "AccessDenied") for a in failing]
    per_account = {c: max((classify(r.calls)[c] for r in scanned), default=0) for c in CATEGORIES}
    total: Counter[str] = Counter(first.calls)
    for account in [*runs, *lost]:
        total.update(account.calls)
    slowest = max((r.modelled() for r in [*runs, *lost]), default=0.0)
    return OrgRow(
        accounts=len(accounts),
        users=0,
        state=state,
        design="peer",
        due_users=org.seeded_due,
        per_account=per_account,
        calls_by_operation=dict(sorted(total.items())),
        list_calls=sum(first.calls.values()),
        aggregate_calls=0,
        run_seconds=round(first.wall + sum(r.wall_seconds for r in scanned), 2),
        modelled_seconds={"all": round(first.modelled() + slowest, 1)},
        accounts_done=len(runs),
        actions=round(len(actions) * len(runs) / max(1, len(scanned))),
        actions_failed=round(sum(a.get("status") == "failed" for a in actions) * len(runs) / max(1, len(scanned))),
        accounts_failed=[],
        failing=failing,
        tolerated=True,
        list_wall=round(first.wall, 3),
        account_seconds=_median([r.modelled() for r in scanned]),
        sampled_accounts=len(scanned),
        notes=[f"{len(failing)} accounts lost: no retry, not reported"] if failing else [],
    )


def _delete_spoke_role(account_id: str) -> None:
    from key_lifecycle.models.constants import spoke_role_name

    _admin(account_id, "iam").delete_role(RoleName=spoke_role_name(JOB_FUNCTION))


def measure_size(accounts: int, users: int, *, peer_sample: int = 1, progress: Any = print) -> list[OrgRow]:
    """The rows of one size: steady state, steady state with 5 % of the accounts' spoke roles deleted, and 5 % of
    the users due; the hub's design and the peer's. A steady-state run changes nothing, so both designs share one
    organization; with users due each design gets its own (the peer's holds users only in the accounts it scans)."""
    from moto import mock_aws

    rows: list[OrgRow] = []
    failing_count = max(1, round(accounts * FAILING_SHARE))

    def keep(row: OrgRow) -> None:
        row.users = users
        rows.append(row)
        progress(_line(row))

    with mock_aws():
        with bench_run._phase("organization seeding"):
            org = seed_organization(accounts, users, "none")
        for label, failing in (("steady", []), (f"steady, {failing_count} failing", org.members[-failing_count:])):
            for account_id in failing:
                _delete_spoke_role(account_id)
            with organization_mode(org), bench_run._phase("organization runs"):
                keep(hub_run(org, failing, label))
                keep(peer_run(org, failing, label, peer_sample))
                if not failing:  # the other scheduled jobs over the same steady organization (they change nothing)
                    for job in ("cleanup", "reconcile"):
                        keep(hub_run(org, [], label, job))
    for job in ("cleanup", "reconcile"):  # 5 % of the users due for the job, in an organization of its own
        with mock_aws():
            with bench_run._phase("organization seeding"):
                org = seed_organization(accounts, users, job)  # type: ignore[arg-type]
            with organization_mode(org), bench_run._phase("organization runs"):
                keep(hub_run(org, [], "5% due", job))
    for design in ("hub", "peer"):
        with mock_aws():
            with bench_run._phase("organization seeding"):
                org = seed_organization(accounts, users, "rotate", populated=None if design == "hub" else peer_sample)
            with organization_mode(org), bench_run._phase("organization runs"):
                keep(hub_run(org, [], "5% due") if design == "hub" else peer_run(org, [], "5% due", peer_sample))
    return rows


def _line(row: OrgRow) -> str:
    modelled = " ".join(f"@{c} {s:.1f}s" for c, s in row.modelled_seconds.items())
    return (
        f"org {row.accounts:>3} x {row.users:>5} {row.job:<9} {row.state:<18} "
        f"{row.design:<4}{'*' if row.extrapolated else ' '} "
        f"IAM reads/account {row.per_account['iam_reads']:>5} in process {row.run_seconds:>6.1f}s modelled {modelled} "
        f"done {row.accounts_done} failed {len(row.accounts_failed)}"
    )


def extrapolate(row: OrgRow, accounts: int) -> OrgRow:
    """A size too long to run here, from a measured one with the same users per account: the accounts are alike,
    so each account's calls and time are the measured ones; listing and run time grow with the accounts, the
    map's schedule is recomputed, and 5 % of the accounts fail in the failing state."""
    scale = accounts / row.accounts
    failing = max(1, round(accounts * FAILING_SHARE)) if row.failing else 0
    one, failed_one = row.account_seconds, row.failed_account_seconds
    list_calls = math.ceil(row.list_calls * scale)  # its pages grow with the accounts (20 a page)
    list_seconds = _modelled(list_calls, row.list_wall * scale)
    if row.design == "hub":
        times = [one] * (accounts - failing) + [failed_one] * failing
        aggregate = _modelled(row.aggregate_calls, row.aggregate_wall * scale)
        modelled = {str(c): round(list_seconds + makespan(times, c) + aggregate, 1) for c in CONCURRENCIES}
        failed: list[str] = [f"failing account {n + 1}" for n in range(failing)]
    else:
        modelled = {"all": round(list_seconds + one, 1)}
        failed = []
    return OrgRow(
        accounts=accounts,
        users=row.users,
        state=row.state.replace(f"{len(row.failing)} failing", f"{failing} failing"),
        design=row.design,
        due_users=row.due_users,
        per_account=dict(row.per_account),
        calls_by_operation={op: round(n * scale) for op, n in row.calls_by_operation.items()},
        list_calls=list_calls,
        aggregate_calls=row.aggregate_calls,
        run_seconds=float("nan"),  # not run
        modelled_seconds=modelled,
        accounts_done=accounts - failing,
        actions=round(row.actions * scale),
        actions_failed=round(row.actions_failed * scale),
        accounts_failed=failed,
        failing=[],
        tolerated=100 * failing / accounts <= TOLERATED_FAILURE_PERCENTAGE,
        extrapolated=True,
        sampled_accounts=row.sampled_accounts,
        list_wall=round(row.list_wall * scale, 3),
        aggregate_wall=round(row.aggregate_wall * scale, 3),
        account_seconds=one,
        failed_account_seconds=failed_one,
        job=row.job,
        notes=[f"from {row.accounts} x {row.users}"]
        + ([f"{failing} accounts lost: no retry, not reported"] if row.design == "peer" and failing else []),
    )


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """ "10x1000,100x100" → [(10, 1000), (100, 100)]: accounts x managed users per account."""
    sizes = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        accounts, _, users = part.lower().partition("x")
        sizes.append((int(accounts), int(users)))
    return sizes


def run_sizes(sizes: list[tuple[int, int]], extrapolate_to: list[tuple[int, int]], peer_sample: int) -> list[OrgRow]:
    rows: list[OrgRow] = []
    for accounts, users in sizes:
        rows += measure_size(accounts, users, peer_sample=peer_sample)
    for accounts, users in extrapolate_to:
        if (accounts, users) in sizes:
            continue
        base = [r for r in rows if r.users == users and not r.extrapolated]
        if not base:
            continue
        largest = max(r.accounts for r in base)
        for row in [r for r in base if r.accounts == largest]:
            rows.append(extrapolate(row, accounts))
            print(_line(rows[-1]), flush=True)
    return rows


# Output ------------------------------------------------------------------------------------------------------


def _seconds(row: OrgRow, concurrency: int) -> str:
    if row.design == "peer":
        return f"{row.modelled_seconds['all']} (all at once)"
    return f"{row.modelled_seconds[str(concurrency)]}"


def markdown(rows: list[OrgRow]) -> str:
    lines = [
        "| accounts x users | state | design | due users / account | IAM reads / account | IAM writes / account | "
        "STS / account | Organizations / account | Secrets Manager / account | other / account | "
        "list + aggregate calls | in-process s | modelled s, concurrency 10 | modelled s, concurrency 40 | "
        "actions (failed) | accounts done / failed |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        design = "hub (Distributed Map)" if r.design == "hub" else "peer (async invoke + per-user scan)"
        size = f"{r.accounts} x {r.users:,}" + (" (extrapolated)" if r.extrapolated else "")
        if r.design == "peer" and r.sampled_accounts:
            design += f", scan measured in {r.sampled_accounts} account(s)"
        if r.design == "hub":
            outcome = f"{r.accounts_done} / {len(r.accounts_failed)}"
            if r.accounts_failed:
                outcome += f" (named: {', '.join(r.accounts_failed)})"
            if r.accounts_failed and not r.tolerated:
                outcome += f"; over the {TOLERATED_FAILURE_PERCENTAGE:g} % tolerated, the map run fails"
        else:
            outcome = (
                f"{r.accounts_done} / {len(r.failing) or (r.accounts - r.accounts_done)} lost, unnamed"
                if (r.accounts_done < r.accounts)
                else f"{r.accounts_done} / 0 (nothing reported)"
            )
        p = r.per_account
        ran = "-" if r.extrapolated else f"{r.run_seconds}"
        lines.append(
            f"| {size} | {r.job}, {r.state} | {design} | {r.due_users} | {p['iam_reads']} | {p['iam_writes']} | "
            f"{p['sts']} | "
            f"{p['organizations']} | {p['secretsmanager']} | {p['other']} | "
            f"{r.list_calls} + {r.aggregate_calls} | {ran} | {_seconds(r, 10)} | {_seconds(r, 40)} | "
            f"{r.actions:,} ({r.actions_failed}) | {outcome} |"
        )
    return "\n".join(lines) + "\n"


def targets(rows: list[OrgRow]) -> list[str]:
    out = []
    for r in rows:
        if r.design == "hub" and r.state == "steady" and not r.extrapolated:
            reads = r.per_account["iam_reads"]
            out.append(
                f"organization {r.accounts} x {r.users} {r.job} steady: {reads} IAM reads per account "
                f"(target <= {TARGET_READS_PER_ACCOUNT}: {'met' if reads <= TARGET_READS_PER_ACCOUNT else 'MISSED'})"
            )
    accounts, users = TARGET_SIZE
    for r in rows:
        if (
            r.design == "hub"
            and r.job == JOB
            and (r.accounts, r.users) == (accounts, users)
            and "failing" not in r.state
        ):
            seconds = r.modelled_seconds["40"]
            out.append(
                f"organization {accounts} x {users} {r.state}{' (extrapolated)' if r.extrapolated else ''}: "
                f"{seconds} s modelled at concurrency 40 (target <= {TARGET_SECONDS:g} s: "
                f"{'met' if seconds <= TARGET_SECONDS else 'MISSED'})"
            )
    for r in rows:
        if r.design == "hub" and "failing" in r.state and not r.extrapolated:
            named = sorted(r.accounts_failed) == sorted(r.failing)
            complete = r.accounts_done == r.accounts - len(r.failing)
            out.append(
                f"organization {r.accounts} x {r.users} with {len(r.failing)} spoke roles deleted: "
                f"{r.accounts_done} accounts done, {len(r.accounts_failed)} named failed "
                f"(target: the others complete and the failing are named: {'met' if named and complete else 'MISSED'})"
            )
    return out


def notes() -> str:
    return (
        "\nOrganization rows: moto in process, the hub as moto's default account and the organization's management "
        f"account, the members under one OU (ORGANIZATION_TARGET_OUS), each with its spoke roles (trusted by the hub "
        f"account with {TRUST_CONDITION_KEY}; AssumeRole judged as AWS judges it, so a deleted role is refused), "
        "boundary, group, a fresh credential report and the users as the single-account rows seed them. The job is "
        f"{JOB_FUNCTION} in every state (cleanup_users and create_keys' reconcile in the steady state and with 5 % of "
        "the users due for them): list_accounts, then the job once per account with its account_id (in process, "
        "one after another, each in a fresh execution environment), then aggregate_runs over the map's ResultWriter "
        "files written to a moto bucket. Per account: the most any completed account made, by category. Modelled wall "
        f"time: each account's run time + its calls x {bench_run.LATENCY_SECONDS * 1000:.0f} ms, scheduled in the "
        "map's order on the first free concurrency slot, plus list_accounts and aggregate_runs; a failed account "
        f"takes {FAILED_ATTEMPTS} attempts and up to {RETRY_WAIT_SECONDS:g} s of retry waits (the state machine's "
        "retry, full-jitter upper bound) in its slot. Step Functions' own overhead per item is not modelled. "
        "Peer: aws-samples' access-key auto-rotation design on the same accounts — list the accounts, one "
        "asynchronous invoke per account, all at once, no retry and no run report, each account read by the "
        "per-user scan (bench/scan.py; Organizations checks left out): its wall time is the slowest account; a "
        "failed account is lost and named nowhere. The scan runs in the sampled account(s), which stand for every "
        "account (all are seeded alike). Extrapolated rows take a measured size with the same users per account "
        "and repeat its per-account figures over more accounts.\n"
    )
