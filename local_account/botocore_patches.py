"""Every patch of botocore's internals the local account makes, in one table (`PATCHES`): each lets the many
sessions a run builds (one per cold start) share what depends only on installed code, and changes no client."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import botocore.client
import botocore.compat
import botocore.endpoint
import botocore.endpoint_provider
import botocore.hooks
import botocore.loaders
import botocore.regions
import botocore.session
import botocore.useragent
import botocore.utils
from botocore.utils import EVENT_ALIASES

# --- the data loader ---------------------------------------------------------------------------------------

_loaders: dict[str | None, Any] = {}


def shared_loader(search_path_string: str | None = None) -> Any:
    """One botocore data loader per search path for the whole process: the parsed service models are
    read-only, so sharing them only saves the seconds each new session would spend parsing them."""
    if search_path_string not in _loaders:
        _loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
    return _loaders[search_path_string]


# --- handler signatures -------------------------------------------------------------------------------------


def _accepts_kwargs(func: Any) -> bool:
    # Whether a function takes **kwargs is a fact of its code object; boto3 registers new closures of the same
    # code with every session, so the code (not the closure) is what is remembered.
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    if code is None or hasattr(func, "__signature__"):
        return _accepts_kwargs_of(func)
    return _accepts_kwargs_of_code(type(func), code, func)


@functools.lru_cache(maxsize=8192)
def _accepts_kwargs_of(func: Any) -> bool:
    return bool(botocore.compat.accepts_kwargs(func))


_kwargs_by_code: dict[tuple[type, Any], bool] = {}


def _accepts_kwargs_of_code(kind: type, code: Any, func: Any) -> bool:
    if (kind, code) not in _kwargs_by_code:
        _kwargs_by_code[(kind, code)] = _accepts_kwargs_of(func)
    return _kwargs_by_code[(kind, code)]


# --- event-name aliases -------------------------------------------------------------------------------------

_original_alias = botocore.hooks.EventAliaser._alias_event_name
_event_aliases: dict[str, str] = {}


def _aliased_event_name(self: Any, event_name: str) -> str:
    """botocore's event-name aliasing, remembered for the process instead of per emitter (each new session and
    client starts with an empty memory and pays again): the answer depends only on the name and the aliases."""
    if self._event_aliases is not EVENT_ALIASES and self._event_aliases != EVENT_ALIASES:
        return str(_original_alias(self, event_name))
    try:
        return _event_aliases[event_name]
    except KeyError:
        aliased = _event_aliases[event_name] = str(_original_alias(self, event_name))
        return aliased


# --- client classes -----------------------------------------------------------------------------------------

_original_client_class = botocore.client.ClientCreator._create_client_class
_client_classes: dict[tuple[Any, ...], type] = {}


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


# --- event-handler tries ------------------------------------------------------------------------------------

# botocore copies the session's event-handler trie (hundreds of nodes) for every client it creates, so that a
# client's own handlers never reach the session or other clients. Copied inside a function call, a trie shares its
# nodes with the original instead, and whichever of them changes a path first copies just the nodes on that path:
# the same isolation, paid per change rather than per client. `_owned` holds the nodes a trie may change in place.
_OWNED = "_owned"
_original_append_item = botocore.hooks._PrefixTrie.append_item
_original_remove_item = botocore.hooks._PrefixTrie.remove_item


def _copy_trie(self: Any) -> Any:
    new = self.__class__.__new__(self.__class__)
    new.__dict__ = {"_root": self._root, _OWNED: {}}
    self.__dict__[_OWNED] = {}  # from now on the original shares every node too
    return new


def _own(owned: dict[int, Any], node: dict[str, Any]) -> dict[str, Any]:
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
    _original_append_item(self, key, value, section)


def _remove_item(self: Any, key: str, value: Any) -> None:
    if _OWNED in self.__dict__:
        _own_path(self, key.split("."), create=False)
    _original_remove_item(self, key, value)


# --- endpoints, user agent, proxies -------------------------------------------------------------------------

_endpoint_providers: dict[tuple[int, int, frozenset[str]], Any] = {}


def _endpoint_provider(ruleset_data: Any, partition_data: Any, excluded_params: Any = None) -> Any:
    """One endpoint-rule evaluator per service ruleset for the process (the rulesets come from the shared loader):
    it is a pure function of its inputs, so its memory of resolved endpoints serves every client alike."""
    key = (id(ruleset_data), id(partition_data), frozenset(excluded_params or ()))
    if key not in _endpoint_providers:
        _endpoint_providers[key] = botocore.endpoint_provider.EndpointProvider(
            ruleset_data, partition_data, excluded_params
        )
    return _endpoint_providers[key]


_original_sanitize = botocore.useragent.sanitize_user_agent_string_component


@functools.lru_cache(maxsize=4096)
def _sanitized_user_agent_component(raw_str: str, allow_hash: bool) -> str:
    # botocore cleans every user-agent part character by character on every request; same input, same output.
    return str(_original_sanitize(raw_str, allow_hash))


_proxies: dict[tuple[str, tuple[tuple[bytes, bytes], ...]], Any] = {}


def _environ_proxies(url: str) -> Any:
    """botocore's proxy settings for a URL, which read every environment variable for each new client: remembered
    per URL and per value of the variables they depend on (`*_proxy`, `REQUEST_METHOD`), so never stale."""
    data: dict[bytes, bytes] = os.environ._data  # type: ignore[attr-defined]
    relevant = tuple(
        sorted(
            (key, value) for key, value in data.items() if key.lower().endswith(b"_proxy") or key == b"REQUEST_METHOD"
        )
    )
    if (url, relevant) not in _proxies:
        _proxies[(url, relevant)] = botocore.utils.get_environ_proxies(url)
    return dict(_proxies[(url, relevant)])


# --- the table ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Patch:
    """`owner.attribute` replaced by `replacement` while `shared_botocore_data()` is open, because of `why`."""

    owner: Any
    attribute: str
    replacement: Any
    why: str
    # Stays once applied: tries copied during a call may be changed at any later time, so their writers stay
    # patched for good; a trie never shared (no `_owned`) is changed by botocore's own code, exactly as before.
    for_good: bool = False


_hooks, _trie = botocore.hooks, botocore.hooks._PrefixTrie
# In the order they are applied (the trie writers before the first shared copy); restored in reverse.
PATCHES: tuple[Patch, ...] = (
    Patch(botocore.session, "create_loader", shared_loader, "parse each service model once per process"),
    Patch(_hooks, "accepts_kwargs", _accepts_kwargs, "inspect each handler's signature once per code object"),
    Patch(_hooks.EventAliaser, "_alias_event_name", _aliased_event_name, "alias each event name once per process"),
    Patch(_trie, "append_item", _append_item, "copy a shared trie's nodes on the path it adds to", for_good=True),
    Patch(_trie, "remove_item", _remove_item, "copy a shared trie's nodes on the path it removes from", for_good=True),
    Patch(_trie, "__copy__", _copy_trie, "a client's handler trie shares the session's nodes until one changes"),
    Patch(botocore.client.ClientCreator, "_create_client_class", _client_class, "one client class per service"),
    Patch(botocore.regions, "EndpointProvider", _endpoint_provider, "one endpoint-rule evaluator per ruleset"),
    Patch(
        botocore.useragent,
        "sanitize_user_agent_string_component",
        _sanitized_user_agent_component,
        "clean each user-agent part once, not on every request",
    ),
    Patch(botocore.endpoint, "get_environ_proxies", _environ_proxies, "read proxy settings once per URL and values"),
)


@contextlib.contextmanager
def shared_botocore_data() -> Iterator[None]:
    """botocore sessions made inside the block share what only depends on installed code: one data loader (service
    models are parsed once), handler signatures, event-name aliases and client classes (built once per service,
    not per client). Event-handler tries are shared until changed. None of it changes what a client does; each cold
    start still builds its own session, credentials and clients. Every patch of `PATCHES` is applied on entry and
    restored on exit, except those `for_good`."""
    saved = [(patch, getattr(patch.owner, patch.attribute)) for patch in PATCHES if not patch.for_good]
    for patch in PATCHES:
        setattr(patch.owner, patch.attribute, patch.replacement)
    try:
        yield
    finally:
        for patch, original in reversed(saved):
            setattr(patch.owner, patch.attribute, original)
