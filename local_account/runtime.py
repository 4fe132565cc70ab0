"""A Lambda runtime in this process: runs a deployed function's handler with its deployed environment,
its role's credentials, a Lambda context, and captures what it logs."""

from __future__ import annotations

import contextlib
import functools
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


def _asset_packages() -> frozenset[str]:
    return frozenset(
        path.stem
        for path in LAMBDAS_DIR.iterdir()
        if (path.is_dir() and (path / "__init__.py").exists()) or (path.suffix == ".py")
    )


class ModuleSpaces:
    """One set of the asset's modules per function, as each function has its own execution environment:
    module-level state (cached clients, loggers named for the function's service) never leaks between
    functions, and the host process (tests importing the same packages) keeps its own modules."""

    def __init__(self) -> None:
        self._spaces: dict[str, dict[str, Any]] = {}
        self._packages = _asset_packages()

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


_loaders: dict[str | None, Any] = {}


def shared_loader(search_path_string: str | None = None) -> Any:
    """One botocore data loader per search path for the whole process: the parsed service models are
    read-only, so sharing them only saves the seconds each new session would spend parsing them."""
    import botocore.loaders

    if search_path_string not in _loaders:
        _loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
    return _loaders[search_path_string]


def _accepts_kwargs(func: Any) -> bool:
    # Whether a function takes **kwargs is a fact of its code object; boto3 registers new closures of the same
    # code with every session, so the code (not the closure) is what is remembered.
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    if code is None or hasattr(func, "__signature__"):
        return _accepts_kwargs_of(func)
    return _accepts_kwargs_of_code(type(func), code, func)


@functools.lru_cache(maxsize=8192)
def _accepts_kwargs_of(func: Any) -> bool:
    import botocore.compat

    return bool(botocore.compat.accepts_kwargs(func))


_kwargs_by_code: dict[tuple[type, Any], bool] = {}


def _accepts_kwargs_of_code(kind: type, code: Any, func: Any) -> bool:
    if (kind, code) not in _kwargs_by_code:
        _kwargs_by_code[(kind, code)] = _accepts_kwargs_of(func)
    return _kwargs_by_code[(kind, code)]


_event_aliases: dict[str, str] = {}
_client_classes: dict[tuple[Any, ...], type] = {}


def _aliased_event_name(self: Any, event_name: str) -> str:
    """botocore's event-name aliasing, remembered for the process instead of per emitter (each new session and
    client starts with an empty memory and pays again): the answer depends only on the name and the aliases."""
    from botocore.utils import EVENT_ALIASES

    if self._event_aliases is not EVENT_ALIASES and self._event_aliases != EVENT_ALIASES:
        return str(_original_alias(self, event_name))
    try:
        return _event_aliases[event_name]
    except KeyError:
        aliased = _event_aliases[event_name] = str(_original_alias(self, event_name))
        return aliased


_original_alias: Any = None


def _handler_identity(handler: Any) -> tuple[Any, ...]:
    # boto3 registers closures made per session (lazy_call); what they stand for is in their string cells.
    cells = tuple(
        cell.cell_contents
        for cell in getattr(handler, "__closure__", None) or ()
        if isinstance(cell.cell_contents, str)
    )
    return getattr(handler, "__module__", None), getattr(handler, "__qualname__", repr(handler)), cells


def _client_class(self: Any, service_name: str, service_model: Any) -> type:
    """A client class per service model and set of class-customising handlers, built once for the process: the
    class holds one method per operation and nothing of a session, so every session may share it."""
    emitter = self._event_emitter
    event = f"creating-client-class.{service_model.service_id.hyphenize()}"
    try:
        handlers = emitter._emitter._handlers.prefix_search(emitter._alias_event_name(event))
    except AttributeError:  # another emitter than botocore's own: build the class as botocore does
        return _original_client_class(self, service_name, service_model)
    key = (
        service_name,
        id(service_model._service_description),
        tuple(_handler_identity(handler) for handler in handlers),
    )
    if key not in _client_classes:
        _client_classes[key] = _original_client_class(self, service_name, service_model)
    return _client_classes[key]


_original_client_class: Any = None


# botocore copies the session's event-handler trie (hundreds of nodes) for every client it creates, so that a
# client's own handlers never reach the session or other clients. Copied inside a function call, a trie shares its
# nodes with the original instead, and whichever of them changes a path first copies just the nodes on that path:
# the same isolation, paid per change rather than per client. `_owned` holds the nodes a trie may change in place.
_OWNED = "_owned"


def _copy_trie(self: Any) -> Any:
    new = self.__class__.__new__(self.__class__)
    new.__dict__ = {"_root": self._root, _OWNED: {}}
    self.__dict__[_OWNED] = {}  # from now on the original shares every node too
    return new


def _own(owned: dict[int, Any], node: dict[str, Any]) -> dict[str, Any]:
    import botocore.hooks

    if id(node) in owned:
        return node
    values = node["values"]
    copied = {
        "chunk": node["chunk"],
        "children": dict(node["children"]),
        "values": None
        if values is None
        else botocore.hooks.NodeList(values.first.copy(), values.middle.copy(), values.last.copy()),
    }
    owned[id(copied)] = copied  # the node itself is kept, so its id is never reused while this trie lives
    return copied


def _own_path(trie: Any, key_parts: list[str], *, create: bool) -> None:
    """Make every node on the key's path the trie's own (copies of shared nodes, linked in place of them)."""
    owned = trie.__dict__[_OWNED]
    node = trie._root = _own(owned, trie._root)
    for part in key_parts:
        child = node["children"].get(part)
        if child is None:
            if not create:
                return
            child = {"chunk": part, "values": None, "children": {}}
            owned[id(child)] = child
        else:
            child = _own(owned, child)
        node["children"][part] = child
        node = child


def _append_item(self: Any, key: str, value: Any, section: int = 1) -> None:
    if _OWNED in self.__dict__:
        _own_path(self, key.split("."), create=True)
    _original_trie_methods[0](self, key, value, section)


def _remove_item(self: Any, key: str, value: Any) -> None:
    if _OWNED in self.__dict__:
        _own_path(self, key.split("."), create=False)
    _original_trie_methods[1](self, key, value)


_original_trie_methods: list[Any] = []


def _install_shared_tries() -> None:
    """Tries copied inside a call may be changed at any later time, so their writers stay patched for good; a trie
    never shared (no `_owned`) is changed by botocore's own code, exactly as before."""
    import botocore.hooks

    trie = botocore.hooks._PrefixTrie
    if not _original_trie_methods:
        _original_trie_methods.extend([trie.append_item, trie.remove_item])
        trie.append_item = _append_item
        trie.remove_item = _remove_item


_endpoint_providers: dict[tuple[int, int, frozenset[str]], Any] = {}


def _endpoint_provider(ruleset_data: Any, partition_data: Any, excluded_params: Any = None) -> Any:
    """One endpoint-rule evaluator per service ruleset for the process (the rulesets come from the shared loader):
    it is a pure function of its inputs, so its memory of resolved endpoints serves every client alike."""
    import botocore.endpoint_provider

    key = (id(ruleset_data), id(partition_data), frozenset(excluded_params or ()))
    if key not in _endpoint_providers:
        _endpoint_providers[key] = botocore.endpoint_provider.EndpointProvider(
            ruleset_data, partition_data, excluded_params
        )
    return _endpoint_providers[key]


@functools.lru_cache(maxsize=4096)
def _sanitized_user_agent_component(raw_str: str, allow_hash: bool) -> str:
    # botocore cleans every user-agent part character by character on every request; same input, same output.
    return str(_original_sanitize(raw_str, allow_hash))


_original_sanitize: Any = None
_proxies: dict[tuple[str, tuple[tuple[bytes, bytes], ...]], Any] = {}


def _environ_proxies(url: str) -> Any:
    """botocore's proxy settings for a URL, which read every environment variable for each new client: remembered
    per URL and per value of the variables they depend on (`*_proxy`, `REQUEST_METHOD`), so never stale."""
    import botocore.utils

    data: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]
    relevant = tuple(
        sorted(
            (key, value) for key, value in data.items() if key.lower().endswith(b"_proxy") or key == b"REQUEST_METHOD"
        )
    )
    if (url, relevant) not in _proxies:
        _proxies[(url, relevant)] = botocore.utils.get_environ_proxies(url)
    return dict(_proxies[(url, relevant)])


@contextlib.contextmanager
def _shared_botocore_data() -> Iterator[None]:
    """botocore sessions made during the call share what only depends on installed code: one data loader (service
    models are parsed once), handler signatures, event-name aliases and client classes (built once per service,
    not per client). Event-handler tries are shared until changed. None of it changes what a client does; each cold
    start still builds its own session, credentials and clients."""
    global _original_alias, _original_client_class, _original_sanitize
    import botocore.client
    import botocore.endpoint
    import botocore.hooks
    import botocore.regions
    import botocore.session
    import botocore.useragent

    aliaser, trie, creator = botocore.hooks.EventAliaser, botocore.hooks._PrefixTrie, botocore.client.ClientCreator
    _install_shared_tries()
    # (owner, attribute, replacement) in the order `_original_*` below reads them back.
    patches: list[tuple[Any, str, Any]] = [
        (botocore.session, "create_loader", shared_loader),
        (botocore.hooks, "accepts_kwargs", _accepts_kwargs),
        (aliaser, "_alias_event_name", _aliased_event_name),
        (trie, "__copy__", _copy_trie),
        (creator, "_create_client_class", _client_class),
        (botocore.regions, "EndpointProvider", _endpoint_provider),
        (botocore.useragent, "sanitize_user_agent_string_component", _sanitized_user_agent_component),
        (botocore.endpoint, "get_environ_proxies", _environ_proxies),
    ]
    saved = [getattr(owner, name) for owner, name, _ in patches]
    _original_alias, _original_client_class, _original_sanitize = saved[2], saved[4], saved[6]
    for owner, name, replacement in patches:
        setattr(owner, name, replacement)
    try:
        yield
    finally:
        for (owner, name, _), original in zip(patches, saved, strict=True):
            setattr(owner, name, original)


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
        _shared_botocore_data(),
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
