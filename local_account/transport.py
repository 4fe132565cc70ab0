"""Requests from this process to the local account's endpoint reach the emulator's WSGI application
directly, without a socket: the same application and code path the HTTP server runs, at half the CPU.
Other processes (the CDK CLI) use HTTP; requests to any other URL are left alone."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from werkzeug.test import EnvironBuilder, run_wsgi_app

_lock = threading.Lock()
_routes: dict[str, Any] = {}  # endpoint URL (scheme://host:port) → WSGI application


class _RawBody:
    """What botocore reads a response body from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **kwargs: Any) -> Any:
        yield self._data

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        data, self._data = self._data, b""
        return data


def _body(request: AWSPreparedRequest) -> bytes:
    body = request.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        position = body.tell() if hasattr(body, "tell") else None
        data = body.read()
        if position is not None and hasattr(body, "seek"):
            body.seek(position)  # a retry reads it again
        body = data
    return body.encode() if isinstance(body, str) else bytes(body)


def _dispatch(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
    url = urlsplit(request.url)
    app = _routes.get(f"{url.scheme}://{url.netloc}")
    if app is None:
        return None
    headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()]
    environ = EnvironBuilder(
        method=request.method,
        path=url.path or "/",
        query_string=url.query,
        headers=headers,
        data=_body(request),
        base_url=f"{url.scheme}://{url.netloc}",
    ).get_environ()
    app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    data = b"".join(app_iter)
    return AWSResponse(request.url, int(status.split()[0]), dict(response_headers), _RawBody(data))


def install() -> None:
    """Every botocore session created from now on hands requests for a routed endpoint to its app."""
    with _lock:
        if ("before-send", _dispatch) not in botocore.handlers.BUILTIN_HANDLERS:
            botocore.handlers.BUILTIN_HANDLERS.append(("before-send", _dispatch))


def route(endpoint_url: str, app: Any) -> None:
    install()
    with _lock:
        _routes[endpoint_url.rstrip("/")] = app


def unroute(endpoint_url: str) -> None:
    with _lock:
        _routes.pop(endpoint_url.rstrip("/"), None)
