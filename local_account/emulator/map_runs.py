"""A Distributed Map's child executions as AWS records them, where moto's interpreter falls short:

- ResultWriter: AWS writes every child execution (its input, its output, or its error and cause) to
  `<prefix>/<map run id>/SUCCEEDED_0.json`, `FAILED_0.json` and `PENDING_0.json` and lists them in that run's
  `manifest.json`; moto writes the manifest only, with empty `ResultFiles`.
- Tolerated failures: AWS fails the Map Run with `States.ExceedToleratedFailureThreshold` when more items fail than
  `ToleratedFailureCount` / `ToleratedFailurePercentage` allow (both absent: none may fail); moto never fails it.

`install()` patches moto's interpreter for the process; `uninstall()` restores it (the local account does both)."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, cast

_RECORD = "moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.itemprocessor"
_lock = threading.Lock()
_item = threading.local()
# Map run ARN -> the child executions that ended, as ResultWriter writes them.
_children: dict[str, list[tuple[int, dict[str, Any]]]] = {}
_saved: list[tuple[Any, str, Any]] = []


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _child_record(map_run_arn: str, state_machine_arn: str, started: datetime, item: Any, state: Any, output: Any):
    from moto.stepfunctions.parser.asl.eval.program_state import (
        ProgramEnded,
        ProgramError,
        ProgramStopped,
        ProgramTimedOut,
    )

    name = uuid.uuid4().hex
    # A child execution's ARN: the map run's, as `execution:<state machine>/<map run label>:<name>`.
    parts = map_run_arn.split(":")
    execution_arn = ":".join([*parts[:5], "execution", *parts[6:7]]) + f":{name}"
    record: dict[str, Any] = {
        "ExecutionArn": execution_arn,
        "Input": json.dumps(item),
        "InputDetails": {"Included": True},
        "Name": name,
        "RedriveCount": 0,
        "RedriveStatus": "NOT_REDRIVABLE",
        "StartDate": _iso(started),
        "StateMachineArn": state_machine_arn,
        "StopDate": _iso(datetime.now(UTC)),
    }
    if isinstance(state, ProgramEnded):
        record.update(Status="SUCCEEDED", Output=json.dumps(output), OutputDetails={"Included": True})
    elif isinstance(state, ProgramStopped):
        record.update(Status="ABORTED")
    elif isinstance(state, ProgramTimedOut):
        record.update(Status="TIMED_OUT", Error="States.Timeout", Cause="")
    else:
        details = dict(state.error or {}) if isinstance(state, ProgramError) else {}
        record.update(
            Status="FAILED",
            Error=str(details.get("error") or "States.Runtime"),
            Cause=str(details.get("cause") or ""),
        )
    return record


def _eval_input(original: Any) -> Any:
    def eval_input(self: Any, env_frame: Any) -> None:
        original(self, env_frame)
        if self._parameters or self._item_selector:
            _item.input = env_frame.stack[-1]  # the item as the child execution receives it (its Input)

    return eval_input


def _eval_job(original: Any) -> Any:
    def eval_job(self: Any, env: Any, job: Any) -> None:
        _item.input = job.job_input
        started = datetime.now(UTC)
        original(self, env, job)
        record = self._map_run_record
        child = _child_record(
            record.map_run_arn,
            str(getattr(record, "map_state_machine_arn", "")),
            started,
            _item.input,
            env.program_state(),
            job.job_output,
        )
        with _lock:
            _children.setdefault(record.map_run_arn, []).append((job.job_index, child))

    return eval_job


def _exceeds(failed: int, total: int, count: int, percentage: float) -> bool:
    # Neither set: no failure is tolerated. Set: each is a threshold the run fails beyond. (A count written as 0
    # beside a percentage reads here as unset, as moto keeps no trace of which fields the definition wrote.)
    if failed == 0:
        return False
    if not count and not percentage:
        return True
    return bool((count and failed > count) or (percentage and failed * 100.0 > percentage * total))


def _map_run(original: Any) -> Any:
    def map_run(self: Any, env: Any, eval_input: Any) -> None:
        original(self, env, eval_input)
        record = eval_input.map_run_record
        with _lock:
            children = [child for _, child in _children.get(record.map_run_arn, [])]
        failed = sum(1 for child in children if child["Status"] != "SUCCEEDED")
        count = int(eval_input.tolerated_failure_count or 0)
        percentage = float(eval_input.tolerated_failure_percentage or 0)
        if _exceeds(failed, len(children), count, percentage):
            _write_results(env, record, getattr(_item, "writer", None))
            raise _threshold_exceeded(env, failed, len(children))

    return map_run


def _threshold_exceeded(env: Any, failed: int, total: int) -> Exception:
    from moto.stepfunctions.parser.api import HistoryEventType
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
        StatesErrorNameType,
    )

    error = "States.ExceedToleratedFailureThreshold"
    cause = f"The specified tolerated failure threshold was exceeded: {failed} of {total} items failed"
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesExceedToleratedFailureThreshold),
            event_type=HistoryEventType.MapRunFailed,
            event_details=cast(Any, {"mapRunFailedEventDetails": {"error": error, "cause": cause}}),
        )
    )


def _write_results(env: Any, record: Any, writer: tuple[Any, dict[str, Any]] | None) -> dict[str, str] | None:
    """Write the run's result files and manifest where the ResultWriter says; its ResultWriterDetails."""
    with _lock:
        children = sorted(_children.pop(record.map_run_arn, []), key=lambda pair: pair[0])
    if writer is None:
        return None
    s3, parameters = writer
    prefix = str(parameters.get("Prefix") or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    bucket = str(parameters["Bucket"])
    run_prefix = prefix + record.map_run_arn.split(":")[-1] + "/"
    groups: dict[str, list[dict[str, Any]]] = {"SUCCEEDED": [], "FAILED": [], "PENDING": []}
    for _, child in children:
        groups["SUCCEEDED" if child["Status"] == "SUCCEEDED" else "FAILED"].append(child)
    files: dict[str, list[dict[str, Any]]] = {kind: [] for kind in groups}
    for kind, entries in groups.items():
        if entries:
            body = json.dumps(entries).encode()
            key = f"{run_prefix}{kind}_0.json"
            s3.put_object(Bucket=bucket, Key=key, Body=body)
            files[kind].append({"Key": key, "Size": len(body)})
    manifest = {"DestinationBucket": bucket, "MapRunArn": record.map_run_arn, "ResultFiles": files}
    key = run_prefix + "manifest.json"
    s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(manifest, indent=2).encode())
    return {"Bucket": bucket, "Key": key}


def _put_object(env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3,
    )

    parameters = env.stack.pop()
    env.stack.pop()  # the map's outputs: the result files hold them
    s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(
        resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
    )
    record = env.map_run_record_pool_manager.get_all()[-1]
    details = _write_results(env, record, (s3, dict(parameters)))
    env.stack.append({"MapRunArn": record.map_run_arn, "ResultWriterDetails": details})


def _state_map_eval(original: Any) -> Any:
    def eval_execution(self: Any, env: Any) -> None:
        # The ResultWriter's bucket and prefix, known before the items run, for a run that fails on its threshold.
        _item.writer = None
        writer = getattr(self, "result_writer", None)
        if writer is not None:
            _item.writer = _writer_target(writer, env)
        original(self, env)

    return eval_execution


def _writer_target(writer: Any, env: Any) -> tuple[Any, dict[str, Any]] | None:
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3,
    )

    try:
        frame = env.open_frame()
        try:
            writer.parargs.eval(env=frame)
            parameters = dict(frame.stack.pop())
            writer.resource_eval.resource.eval(env=frame)
            runtime_part = frame.stack.pop()
        finally:
            env.close_frame(frame)
        credentials = resource_eval_s3.StateCredentials(role_arn=env.aws_execution_details.role_arn)
        s3 = resource_eval_s3.ResourceEvalS3._get_s3_client(
            resource_runtime_part=runtime_part, state_credentials=credentials
        )
    except Exception:  # a writer this emulation cannot read ahead: the failed run stays unwritten
        return None
    return s3, parameters


def install() -> None:
    import importlib

    from moto.stepfunctions.parser.asl.component.state.exec.state_map import state_map
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import (
        distributed_iteration_component,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3,
    )

    if _saved:
        return
    worker = importlib.import_module(f"{_RECORD}.distributed_item_processor_worker").DistributedItemProcessorWorker
    component = distributed_iteration_component.DistributedIterationComponent
    patches = (
        (worker, "_eval_input", _eval_input(worker._eval_input)),
        (worker, "_eval_job", _eval_job(worker._eval_job)),
        (component, "_map_run", _map_run(component._map_run)),
        (state_map.StateMap, "_eval_execution", _state_map_eval(state_map.StateMap._eval_execution)),
        (resource_eval_s3.ResourceEvalS3, "_handle_put_object", staticmethod(_put_object)),
    )
    for owner, name, replacement in patches:
        _saved.append((owner, name, owner.__dict__.get(name)))
        setattr(owner, name, replacement)


def uninstall() -> None:
    while _saved:
        owner, name, original = _saved.pop()
        if original is None:
            delattr(owner, name)
        else:
            setattr(owner, name, original)
    with _lock:
        _children.clear()
