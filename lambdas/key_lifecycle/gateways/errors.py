"""AWS errors as the rest of the code sees them: the operation and the error code, never AWS's message text."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore import xform_name
from botocore.exceptions import ClientError

# "Already gone": the thing to delete or change no longer exists, which is what the caller wanted anyway.
GONE_CODES = frozenset({"NoSuchEntity", "ResourceNotFoundException"})
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


class AwsError(Exception):
    """An AWS call failed. Carries only the operation and the error code: AWS messages and botocore's
    parameter-validation messages can echo request parameters, and a request may hold a secret."""

    def __init__(self, operation: str, code: str):
        self.operation = operation
        self.code = code
        super().__init__(f"{operation} failed: {code}")

    @property
    def gone(self) -> bool:
        return self.code in GONE_CODES


def error_code(exc: ClientError) -> str:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code if _SAFE_CODE.match(code) else "UnknownError"


@contextmanager
def translated(operation: str) -> Iterator[None]:
    """Turn every exception of an AWS call into AwsError; `from None` keeps the original text out of every traceback.
    Not only botocore's own: botocore.parsers.ResponseParserError (a plain Exception) quotes the raw response body,
    which for CreateAccessKey holds the secret access key."""
    try:
        yield
    except ClientError as exc:
        raise AwsError(operation, error_code(exc)) from None
    except Exception as exc:  # BotoCoreError, ResponseParserError, and whatever else a client raises
        raise AwsError(operation, type(exc).__name__) from None


def call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    """One AWS call by its API name (e.g. "CreateUser"), errors translated."""
    method: Callable[..., dict[str, Any]] = getattr(client, xform_name(operation))
    with translated(operation):
        return method(**params)


def paginate(client: Any, operation: str, result_key: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every item of a list call, across all pages (with botocore's paginator when it has one)."""
    method_name = xform_name(operation)
    with translated(operation):
        if client.can_paginate(method_name):
            for page in client.get_paginator(method_name).paginate(**params):
                yield from page.get(result_key, [])
            return
        method = getattr(client, method_name)
        while True:
            page = method(**params)
            yield from page.get(result_key, [])
            marker = page.get("Marker") if page.get("IsTruncated") else None
            if not marker:
                return
            params = {**params, "Marker": marker}
