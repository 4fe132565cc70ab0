"""Organization runs: the per-account runs of a Distributed Map (as its ResultWriter recorded them) folded into one
report section: accounts done, accounts failed with their reason, actions and warnings by account."""

from __future__ import annotations

import json
from typing import Any

from key_lifecycle.models.organization import ChildRun

REASON_MAX = 500  # characters: a Lambda error's cause may carry a stack trace


def run_report(output: Any) -> dict[str, Any] | None:
    """The member run's report in a child's output: the function's answer itself, or the Lambda invoke task's
    whole result (`Payload`) when the map kept it."""
    if isinstance(output, dict) and "function" not in output and isinstance(output.get("Payload"), dict):
        output = output["Payload"]
    if isinstance(output, dict) and isinstance(output.get("function"), str):
        return output
    return None


def failure_reason(run: ChildRun) -> str:
    """Why a child execution did not complete: Step Functions' error, and the Lambda error inside its cause."""
    if run.status == "PENDING":
        return "not run: the map run ended before this account"
    error = run.error or run.status
    cause = run.cause or ""
    try:
        parsed = json.loads(cause) if cause else None
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and ("errorType" in parsed or "errorMessage" in parsed):
        cause = ": ".join(str(parsed[k]) for k in ("errorType", "errorMessage") if parsed.get(k))
    # A Lambda task's error is the function's errorType, which its cause already starts with: said once.
    if cause == error or cause.startswith(f"{error}: "):
        return cause[:REASON_MAX]
    return (f"{error}: {cause}" if cause else error)[:REASON_MAX]


def caught_failure(run: ChildRun) -> ChildRun | None:
    """A child that completed with its account's failure caught (the item processor's Catch: `{"account_id",
    "failed": {"Error", "Cause"}}`), as the failed child it stands for; None for any other child."""
    output = run.output
    if run.status != "SUCCEEDED" or not isinstance(output, dict) or not isinstance(output.get("failed"), dict):
        return None
    failed = output["failed"]
    error, cause = failed.get("Error"), failed.get("Cause")
    return run.model_copy(
        update={
            "status": "FAILED",
            "output": None,
            "error": str(error) if error is not None else None,
            "cause": str(cause) if cause is not None else None,
        }
    )


def map_failure_reason(error: str, cause: str) -> str:
    """Why the map run itself failed (the map state's caught error), for the run report and its notification."""
    return failure_reason(ChildRun(account_id=None, status="FAILED", error=error, cause=cause))


def aggregate(
    job: str, runs: list[ChildRun], map_failed: tuple[str, str] | None = None
) -> tuple[dict[str, Any], list[str], bool]:
    """The organization section of the run report, the member runs' errors (each naming its account), and whether
    the member runs were dry runs. A child whose account failure was caught counts as that account failed; with
    `map_failed` (error, cause) the map run itself failed, which the section and the errors say first."""
    done: list[str] = []
    failed: list[dict[str, str]] = []
    actions: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    errors: list[str] = []
    dry_run = False
    if map_failed is not None:
        errors.append(f"the map run over the accounts failed: {map_failure_reason(*map_failed)}")
    for run in sorted(runs, key=lambda r: (r.account_id or "", r.status)):
        run = caught_failure(run) or run
        account = run.account_id or "unknown"
        report = run_report(run.output) if run.status == "SUCCEEDED" else None
        if report is None:
            reason = failure_reason(run) if run.status != "SUCCEEDED" else "its output is not a run report"
            failed.append({"account_id": account, "reason": reason})
            continue
        done.append(account)
        dry_run = dry_run or bool(report.get("dry_run"))
        actions.extend({"account_id": account, **a} for a in report.get("actions") or [] if isinstance(a, dict))
        warnings.extend({"account_id": account, **w} for w in report.get("warnings") or [] if isinstance(w, dict))
        errors.extend(f"account {account}: {e}" for e in report.get("errors") or [])
    section = {
        "job": job,
        "accounts": len(done) + len(failed),
        "accounts_done": done,
        "accounts_failed": failed,
        "actions": actions,
        "warnings": warnings,
    }
    if map_failed is not None:
        error, cause = map_failed
        section["map_failed"] = {"error": error, "reason": map_failure_reason(error, cause)}
    return section, errors, dry_run
