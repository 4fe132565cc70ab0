"""Step Functions executions in the local account: moto's interpreter (its `execute_state_machine` setting) with its
AWS calls routed to this process's emulator instead of a moto server on port 5000, and its Lambda tasks run by the
local account's Lambda runtime (the deployed handler, as `LocalAccount.invoke` runs it), not moto's Docker."""

from __future__ import annotations

import importlib
import io
import json
import logging
import re
import threading
from collections.abc import Callable
from typing import Any

import boto3
from botocore.config import Config
from moto.core.config import default_user_config

from local_account.emulator import execution_context, map_runs, state_errors

# (function ARN or name, event) -> (result, error or None): the local account's runtime.
Invoker = Callable[[str, Any], tuple[Any, str | None]]

# Where moto's interpreter waits out a Retry interval (`time.sleep(interval_seconds)`, in real time).
_RETRIER_MODULE = "moto.stepfunctions.parser.asl.component.common.retry.retrier_decl"
_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.item_reader.eval.resource_eval_s3",
    "moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval.resource_eval_s3",
)
# One function at a time: the runtime sets the process's environment for the handler it runs, and the map's
# iterations run on threads of their own.
_one_invocation = threading.Lock()


class _LocalLambda:
    """The Lambda client a task state gets: Invoke runs the deployed function in the local runtime."""

    def __init__(self, invoker: Invoker):
        self._invoker = invoker

    def invoke(self, **parameters: Any) -> dict[str, Any]:
        payload = parameters.get("Payload")
        if isinstance(payload, bytes | bytearray):
            payload = payload.decode()
        event = json.loads(payload) if isinstance(payload, str) and payload else (payload or {})
        with _one_invocation:
            result, error = self._invoker(str(parameters["FunctionName"]), event)
        response: dict[str, Any] = {
            "StatusCode": 200,
            "ExecutedVersion": "$LATEST",
            "Payload": io.BytesIO(json.dumps(result).encode()),
        }
        if error is not None:
            response["FunctionError"] = "Unhandled"
        return response


def _integer_percentages(definition: str) -> str:
    """ASL's ToleratedFailurePercentage is a number 0-100, an integer included (`10`); moto's grammar takes only a
    decimal (`10.0`). Same value, written as moto reads it."""
    return re.sub(r'("ToleratedFailurePercentage"\s*:\s*)(\d+)(?=\s*[,}])', r"\g<1>\g<2>.0", definition)


class _VirtualTime:
    """What the retrier module sees as `time`: its one use, `sleep`, waits on the local account's virtual clock."""

    def __init__(self, wait: Callable[[float], None]):
        self.sleep = wait


class Route:
    """While open: executions start (execute_state_machine), reach the emulator at `endpoint_url` signed with
    `credentials`, run Lambda tasks with `invoker`, and wait out Retry intervals with `wait(seconds)` (the local
    account's virtual clock; without it, in real time as moto does)."""

    def __init__(
        self,
        endpoint_url: str,
        credentials: tuple[str, str],
        invoker: Invoker,
        wait: Callable[[float], None] | None = None,
    ):
        self._saved: list[tuple[Any, Any]] = []
        self._config_before = dict(default_user_config.get("stepfunctions", {}))
        session = boto3.Session(aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1])
        config = Config(retries={"max_attempts": 0, "total_max_attempts": 1}, parameter_validation=False)
        local_lambda = _LocalLambda(invoker)

        def client_for(region: str, service: str, state_credentials: Any = None) -> Any:
            if service == "lambda":
                return local_lambda
            return session.client(service, region_name=region, endpoint_url=endpoint_url, config=config)

        for name in _CLIENT_MODULES:
            module = importlib.import_module(name)
            self._saved.append((module, module.boto_client_for))
            module.boto_client_for = client_for  # type: ignore[attr-defined]
        if wait is not None:
            retrier = importlib.import_module(_RETRIER_MODULE)
            self._retrier_time: tuple[Any, Any] | None = (retrier, retrier.time)
            retrier.time = _VirtualTime(wait)  # type: ignore[attr-defined]
        else:
            self._retrier_time = None
        default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
        # A Distributed Map's result files and tolerated failures as AWS has them (emulator/map_runs.py).
        map_runs.install()
        # States.ALL leaves States.Runtime and States.DataLimitExceeded alone, as on AWS (emulator/state_errors.py).
        state_errors.install()
        # $$.Execution.StartTime as AWS gives it, an ISO 8601 string (emulator/execution_context.py).
        execution_context.install()
        # The interpreter logs each failed state as an error and warns that tolerated failures have no effect
        # (here they have): an execution's failure is read from DescribeExecution, not from moto's log.
        self._interpreter_log = logging.getLogger("moto.stepfunctions")
        self._log_level = self._interpreter_log.level
        self._interpreter_log.setLevel(logging.CRITICAL)
        # CloudFormation creates state machines in `stepfunctions_backends`; with execution on, the API serves
        # (and runs) those of the interpreter's backends, so the template's must be created there.
        from moto.stepfunctions import models
        from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends

        self._saved.append((models, models.stepfunctions_backends))
        models.stepfunctions_backends = stepfunctions_parser_backends  # type: ignore[assignment]
        original_parse = AmazonStateLanguageParser.__dict__["parse"]
        self._parse = (AmazonStateLanguageParser, original_parse)
        AmazonStateLanguageParser.parse = staticmethod(  # type: ignore[method-assign]
            lambda definition: original_parse.__func__(_integer_percentages(definition))
        )

    def close(self) -> None:
        for module, original in self._saved:
            name = "boto_client_for" if hasattr(module, "boto_client_for") else "stepfunctions_backends"
            setattr(module, name, original)
        default_user_config["stepfunctions"] = self._config_before  # type: ignore[typeddict-item]
        parser, original_parse = self._parse
        parser.parse = original_parse  # type: ignore[method-assign]
        if self._retrier_time is not None:
            retrier, original_time = self._retrier_time
            retrier.time = original_time
        map_runs.uninstall()
        state_errors.uninstall()
        execution_context.uninstall()
        self._interpreter_log.setLevel(self._log_level)
