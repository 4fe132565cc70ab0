"""The context object (`$$`) of an execution as AWS gives it, where moto's interpreter differs: AWS's
`$$.Execution.StartTime` is an ISO 8601 string with milliseconds and `Z` (`2019-03-26T20:14:13.192Z`); moto puts the
Python datetime there, which a state's Parameters carry on until its output cannot be written as JSON.

`install()` patches moto's interpreter for the process; `uninstall()` restores it (the local account does both)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_saved: list[tuple[Any, Any]] = []


def iso(moment: datetime) -> str:
    """A moment as Step Functions writes one: UTC, milliseconds, `Z`."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _environment(original: Any) -> Any:
    def get_evaluation_environment(self: Any) -> Any:
        env = original(self)
        execution = env.states.context_object.context_object_data.get("Execution") or {}
        if isinstance(execution.get("StartTime"), datetime):
            execution["StartTime"] = iso(execution["StartTime"])
        return env

    return get_evaluation_environment


def install() -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    if _saved:
        return
    original = ExecutionWorker.__dict__["_get_evaluation_environment"]
    _saved.append((ExecutionWorker, original))
    ExecutionWorker._get_evaluation_environment = _environment(original)  # type: ignore[method-assign]


def uninstall() -> None:
    while _saved:
        owner, original = _saved.pop()
        owner._get_evaluation_environment = original
