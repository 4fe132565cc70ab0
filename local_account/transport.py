"""Requests from this process to the local account's endpoint reach the emulator without a socket: the request is
routed as the emulator's HTTP server routes it (service from the signature, then the service's URL rules) and handed
to the same moto handler, as moto's in-process mode does, skipping only the HTTP and WSGI layers. Requests the
router cannot place go through the emulator's WSGI application. Other processes (the CDK CLI) use HTTP; requests
to any other URL are left alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import SplitResult, urlsplit

import botocore.handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder, run_wsgi_app

_lock = threading.Lock()
_routes: dict[str, Any] = {}  # endpoint URL (scheme://host:port) → WSGI application
# (endpoint, method, signing scope, path) → the moto handler the server's router chooses for it.
_handlers: dict[tuple[str, str, str, str], Callable[..., Any]] = {}


class _RawBody:
    """What botocore reads a response body from."""

    def __init__(self, data: bytes):
        self._data = data

    def stream(self, **kwargs: Any) -> Any:
        yield self._data

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        data, self._data = self._data, b""
        return data

    def close(self) -> None:  # StreamingBody.close(), which a caller may call after reading
        self._data = b""


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


def _environ(request: AWSPreparedRequest, url: SplitResult) -> dict[str, Any]:
    headers = [(k, v.decode() if isinstance(v, bytes) else str(v)) for k, v in request.headers.items()]
    return dict(
        EnvironBuilder(
            method=request.method,
            path=url.path or "/",
            query_string=url.query,
            headers=headers,
            data=_body(request),
            base_url=f"{url.scheme}://{url.netloc}",
        ).get_environ()
    )


def _signing_scope(request: AWSPreparedRequest) -> str | None:
    """`region/service` of a SigV4 signature: what the server's router reads to find the service."""
    authorization = request.headers.get("Authorization")
    if isinstance(authorization, bytes):
        authorization = authorization.decode()
    if not authorization or not authorization.startswith("AWS4-HMAC-SHA256 Credential="):
        return None
    parts = authorization.split(",", 1)[0].split("=", 1)[1].split("/")
    return "/".join(parts[2:4]) if len(parts) == 5 else None


def _handler(app: Any, endpoint: str, request: AWSPreparedRequest, url: SplitResult) -> Callable[..., Any] | None:
    """The moto handler the emulator's HTTP server would run for this request, or None (then the WSGI path)."""
    scope = _signing_scope(request)
    if scope is None or not hasattr(app, "get_application"):
        return None
    key = (endpoint, request.method or "GET", scope, url.path or "/")
    if key not in _handlers:
        environ = _environ(request, url)
        service_app = app.get_application(environ)
        try:
            rule, _ = service_app.url_map.bind_to_environ(environ).match(return_rule=True)
        except HTTPException:
            return None
        callback = getattr(service_app.view_functions.get(rule.endpoint), "callback", None)
        if callback is None:
            return None
        _handlers[key] = callback
    return _handlers[key]


def _direct(handler: Callable[..., Any], request: AWSPreparedRequest) -> AWSResponse:
    """Run the handler as moto's server view does (same normalized request, URL and headers; errors rendered
    the same way), without building an HTTP request and response around it."""
    from botocore.exceptions import ClientError
    from moto.core.request import normalize_request

    normalized = normalize_request(request)
    try:
        result = handler(normalized, normalized.raw_url, normalized.headers)
    except HTTPException as error:
        result = error.code, error.get_headers(), error.get_body()
    except ClientError as error:  # as the server's view answers it
        result = 400, {}, error.response["Error"]["Message"]
    status, headers, body = result if len(result) == 3 else (200, {}, result)
    if isinstance(body, str):
        body = body.encode()
    return AWSResponse(request.url, int(status), dict(headers), _RawBody(bytes(body or b"")))


def _dispatch(request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
    url = urlsplit(request.url)
    endpoint = f"{url.scheme}://{url.netloc}"
    app = _routes.get(endpoint)
    if app is None:
        return None
    handler = _handler(app, endpoint, request, url)
    if handler is not None:
        return _direct(handler, request)
    environ = _environ(request, url)
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
        for key in [key for key in _handlers if key[0] == endpoint_url.rstrip("/")]:
            del _handlers[key]
