"""A Lambda runtime in this process: runs a deployed function's handler with its deployed environment,
its role's credentials, a Lambda context, and captures what it logs."""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from local_account.botocore_patches import shared_botocore_data

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"

# Variables the Lambda service sets for every function, besides the function's own environment.
_RUNTIME_VARIABLE_PREFIXES = ("AWS_", "_HANDLER", "_X_AMZN", "LAMBDA_")


@dataclass(frozen=True)
class DeployedFunction:
    """A function as deployed, read back from the Lambda API."""

    name: str  # the handler module, e.g. "rotate_keys"; what `invoke` takes
    function_name: str
    function_arn: str
    handler: str
    environment: dict[str, str]
    role_arn: str
    memory_mb: int
    timeout_s: int
    runtime: str
    logical_id: str

    @property
    def handler_module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass
class Invocation:
    """One run of a deployed function: when, why, with what, what it returned and logged."""

    time: datetime
    function: str
    source: str  # "schedule" | "manual"
    schedule: str | None
    event: Any
    result: Any = None
    duration_s: float = 0.0
    log_lines: list[str] = field(default_factory=list)
    error: str | None = None  # set when the function raised, timed out or returned something not JSON
    slept_s: float = 0.0  # virtual seconds the function slept (they moved the clock, not the wall)
    cold_start: bool = True  # False: it ran in a warm execution environment (see local_account.environments)

    @property
    def ok(self) -> bool:
        return self.error is None


_real_sleep = time.sleep
_real_monotonic = time.monotonic


@dataclass
class _Sleeping:
    """The invocation in progress: its thread, how long it slept, and how to move the virtual clock."""

    thread: int
    advance_clock: Callable[[float], None]
    slept: float = 0.0


_sleeping: _Sleeping | None = None


def _virtual_sleep(seconds: float) -> None:
    """In the function's thread a sleep moves the virtual clock (and its monotonic clock) instead of
    waiting: a function backing off for a second costs no real second. Elsewhere, a real sleep."""
    state = _sleeping
    if state is None or threading.get_ident() != state.thread:
        _real_sleep(seconds)
        return
    seconds = max(0.0, float(seconds))
    state.slept += seconds
    state.advance_clock(seconds)


def _virtual_monotonic() -> float:
    state = _sleeping
    if state is None or threading.get_ident() != state.thread:
        return _real_monotonic()
    return _real_monotonic() + state.slept


@contextlib.contextmanager
def _virtual_waits(advance_clock: Callable[[float], None]) -> Iterator[_Sleeping]:
    # Modules imported during a call bind these as defaults (`sleep=time.sleep`); outside a call they
    # behave exactly like the real functions, so a binding that outlives the call stays correct.
    global _sleeping
    state = _Sleeping(thread=threading.get_ident(), advance_clock=advance_clock)
    _sleeping = state
    time.sleep, time.monotonic = _virtual_sleep, _virtual_monotonic  # type: ignore[assignment]
    try:
        yield state
    finally:
        time.sleep, time.monotonic = _real_sleep, _real_monotonic
        _sleeping = None


class LambdaContext:
    """The context object the Python runtime passes to a handler."""

    def __init__(self, function: DeployedFunction, started: float):
        self.function_name = function.function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = function.function_arn
        self.memory_limit_in_mb = function.memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.function_name}"
        self.log_stream_name = f"local/[$LATEST]{uuid.uuid4().hex}"
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline = started + function.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        # Run time so far (real time plus virtual sleeps), not the virtual date: how long this run may still take.
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class _ThreadLogHandler(logging.Handler):
    """Collects log records emitted by one thread (the function's), formatted like the Lambda runtime."""

    def __init__(self, thread_id: int, request_id: str):
        super().__init__(logging.DEBUG)
        self.thread_id = thread_id
        self.request_id = request_id
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread_id:
            self.lines.append(f"[{record.levelname}]\t{self.request_id}\t{record.getMessage()}")


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    # The raw (bytes) mapping behind os.environ: saved and compared without decoding every variable.
    data: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]
    saved = dict(data)
    for name in [name for name in os.environ if name.startswith((*_RUNTIME_VARIABLE_PREFIXES, "POWERTOOLS_"))]:
        # A function sees its own environment and the runtime's, never the host's AWS settings.
        del os.environ[name]
    os.environ.update(variables)
    try:
        yield
    finally:
        # Back to exactly the host's environment, whatever the function set or removed.
        for raw in data.keys() - saved.keys():
            del os.environ[os.fsdecode(raw)]
        for raw, value in saved.items():
            if data.get(raw) != value:
                os.environ[os.fsdecode(raw)] = os.fsdecode(value)


def _powertools_handlers() -> list[logging.StreamHandler[Any]]:
    try:
        from aws_lambda_powertools.logging.formatter import BasePowertoolsFormatter
    except ImportError:  # pragma: no cover - Powertools is in the Lambda's layer and in .venv
        return []
    loggers = [logging.getLogger()] + [
        logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    found = []
    for logger in loggers:
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and isinstance(handler.formatter, BasePowertoolsFormatter):
                found.append(handler)
    return found


@contextlib.contextmanager
def _captured_output(request_id: str) -> Iterator[Callable[[], list[str]]]:
    """Everything the function writes to stdout/stderr or logs, as the Lambda runtime would ship it."""
    buffer = io.StringIO()
    host_stdout = sys.stdout
    thread_handler = _ThreadLogHandler(threading.get_ident(), request_id)
    root = logging.getLogger()
    root.addHandler(thread_handler)
    # Powertools loggers hold the stream they were created with; point them at the buffer for the call.
    swapped = {handler: handler.setStream(buffer) for handler in _powertools_handlers()}
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield lambda: [line for line in buffer.getvalue().splitlines() if line] + thread_handler.lines
    finally:
        for handler in _powertools_handlers():
            if handler in swapped:
                if swapped[handler] is not None:
                    handler.setStream(swapped[handler])
            elif handler.stream is buffer:
                # Created during the call (first import) while stdout was the buffer.
                handler.setStream(host_stdout)
        root.removeHandler(thread_handler)


def asset_packages(asset_dir: Path = LAMBDAS_DIR) -> frozenset[str]:
    """The top-level import names the asset holds: its packages (this project's one, `key_lifecycle`) and any
    top-level modules. Every module under them belongs to the functions, not to the host process."""
    return frozenset(
        path.stem
        for path in asset_dir.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or (path.suffix == ".py")
    )


class ModuleSpaces:
    """One set of the asset's modules per function, as each function has its own execution environment.

    In AWS every function imports the asset in a process of its own; here every function runs in this one, so
    while a function runs, `sys.modules` holds that function's copy of every module under the asset's top-level
    names (`key_lifecycle` and all its submodules, found by `asset_packages`) and nothing else of the asset. Why:
    the asset is one package shared by every function, and its module-level state is set up for the function
    that imports it (the Powertools logger and metrics named from that function's POWERTOOLS_SERVICE_NAME,
    settings read once at cold start, cached boto3 clients signed with that function's role). Without the spaces
    the first function to import `key_lifecycle` would lend its service name, settings and role's clients to
    every other function. The host process (tests, the demo importing the same package) keeps its own modules."""

    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, Any]] = {}
        self._packages = asset_packages()

    def _asset_modules(self) -> dict[str, Any]:
        packages = self._packages
        # Names first (cheap), modules only for the asset's few: sys.modules holds thousands.
        names = [name for name in list(sys.modules) if name.partition(".")[0] in packages]
        return {name: sys.modules[name] for name in names if name in sys.modules}

    @contextlib.contextmanager
    def entered(self, function: str) -> Iterator[None]:
        host = self._asset_modules()
        for name in host:
            del sys.modules[name]
        sys.modules.update(self._spaces.get(function, {}))
        try:
            yield
        finally:
            own = self._asset_modules()
            self._spaces[function] = own
            for name in own:
                del sys.modules[name]
            sys.modules.update(host)


def _reset_cold_start(module: Any) -> None:
    """Call the handlers' `reset_cold_start()` (on the handler module or its package's `common`), so
    settings and clients are rebuilt with this invocation's environment and credentials."""
    reset = getattr(module, "reset_cold_start", None)
    if reset is None and "." in module.__name__:
        package = module.__name__.rsplit(".", 1)[0]
        try:
            reset = getattr(importlib.import_module(f"{package}.common"), "reset_cold_start", None)
        except ImportError:
            reset = None
    if callable(reset):
        reset()


def run_handler(
    function: DeployedFunction,
    event: Any,
    *,
    environment: Mapping[str, str],
    invocation: Invocation,
    modules: ModuleSpaces,
    advance_clock: Callable[[float], None],
    cold_start: bool = True,
) -> Invocation:
    """Run the function's handler once and fill in the invocation's result and logs. A cold start rebuilds the
    handlers' cached settings and clients (a warm one reuses them, with the same environment and credentials).
    `advance_clock(seconds)` moves the virtual clock when the function sleeps."""
    started = _real_monotonic()
    context = LambdaContext(function, started)
    with (
        _virtual_waits(advance_clock) as waits,
        modules.entered(function.name),
        shared_botocore_data(),
        _environment(environment),
        _captured_output(context.aws_request_id) as logged,
    ):
        try:
            module = importlib.import_module(function.handler_module)
            invocation.cold_start = cold_start
            if cold_start:
                _reset_cold_start(module)
            handler = getattr(module, function.handler_function)
            # The event crosses a JSON boundary in Lambda; the handler never gets our objects.
            result = handler(json.loads(json.dumps(event)), context)
            try:
                invocation.result = json.loads(json.dumps(result))
            except (TypeError, ValueError) as exc:
                invocation.error = "Runtime.MarshalError"
                invocation.result = {"errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal: {exc}"}
        except Exception as exc:
            invocation.error = type(exc).__name__
            invocation.result = {
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }
            print(f"[ERROR] {type(exc).__name__}: {exc}")
        invocation.duration_s = _real_monotonic() - started
        invocation.slept_s = waits.slept
        if invocation.duration_s + waits.slept > function.timeout_s and invocation.error is None:
            invocation.error = "Task.TimedOut"
            print(f"Task timed out after {function.timeout_s:.2f} seconds")
        invocation.log_lines = logged()
    return invocation
