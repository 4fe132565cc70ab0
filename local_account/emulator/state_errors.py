"""Which errors a Retry or Catch on `States.ALL` takes, as AWS has it, where moto's interpreter differs: AWS's
`States.ALL` "can't catch the States.DataLimitExceeded terminal error type and runtime error types" (`States.Runtime`
is never retried or caught by it: the execution fails); moto's matches every error.

`install()` patches moto's interpreter for the process; `uninstall()` restores it (the local account does both)."""

from __future__ import annotations

from typing import Any

# Terminal errors `States.ALL` does not match (Step Functions Developer Guide, "Error names").
TERMINAL_ERRORS = frozenset({"States.Runtime", "States.DataLimitExceeded"})
_saved: list[tuple[Any, Any]] = []


def _eval_body(original: Any) -> Any:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    def eval_body(self: Any, env: Any) -> None:
        error = env.stack[-1] if env.stack else None
        original(self, env)
        named = getattr(error, "error_name", None)
        if named in TERMINAL_ERRORS and ErrorEqualsDecl._STATE_ALL_ERROR in self.error_names:
            env.stack[-1] = False  # not matched: the next retrier or catcher (or none) decides

    return eval_body


def install() -> None:
    from moto.stepfunctions.parser.asl.component.common.error_name.error_equals_decl import ErrorEqualsDecl

    if _saved:
        return
    original = ErrorEqualsDecl.__dict__["_eval_body"]
    _saved.append((ErrorEqualsDecl, original))
    ErrorEqualsDecl._eval_body = _eval_body(original)  # type: ignore[method-assign]


def uninstall() -> None:
    while _saved:
        owner, original = _saved.pop()
        owner._eval_body = original
