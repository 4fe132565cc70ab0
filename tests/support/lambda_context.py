"""The Lambda context handed to the handlers in process: Powertools' LambdaContext, filled in as the Powertools
docs' testing pattern does, with the time left given by the test (Powertools' own answers 0; the handlers budget
on it)."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.typing import LambdaContext

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
FUNCTION_NAME = "iam-key-lifecycle-test"
REQUEST_ID = "6f1c7a52-9d1b-4f0e-9b61-2f2a4f0c0e11"
# A fresh invocation of a function with the stack's 5-minute timeout.
FULL_BUDGET_MS = 300_000


class TimedLambdaContext(LambdaContext):
    """A LambdaContext whose remaining time is asked of `remaining_ms` at each call: fixed, or falling as a run goes."""

    def __init__(self, remaining_ms: Callable[[], int]) -> None:
        self._remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:  # type: ignore[override]
        return self._remaining_ms()


def make_lambda_context(
    *,
    function_name: str = FUNCTION_NAME,
    request_id: str = REQUEST_ID,
    remaining_ms: Callable[[], int] = lambda: FULL_BUDGET_MS,
) -> LambdaContext:
    context = TimedLambdaContext(remaining_ms)
    context._function_name = function_name
    context._function_version = "$LATEST"
    context._memory_limit_in_mb = 256
    context._invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{function_name}"
    context._aws_request_id = request_id
    return context
