"""A snapshot of everything moto holds in this process (IAM, Secrets Manager, DynamoDB, SNS, ...), taken once and
restored any number of times: a scenario built once by real function runs serves every crash point."""

from __future__ import annotations

import copy
from typing import Any

from moto.core.base_backend import BackendDict, BaseBackend


def _live_backends() -> list[BaseBackend]:
    """Every regional backend moto has created so far in this mock."""
    services: list[BackendDict[Any]] = vars(BackendDict)["_instances"]
    return [
        backend
        for service in services
        for per_account in list(service.values())
        for backend in list(per_account.values())
    ]


class MotoState:
    """The state of every moto backend at one moment. Backends are restored in place (their `__dict__` replaced),
    so whatever holds a backend (moto's dispatchers, other backends, the tests' helpers) sees the restored state.
    A snapshot serves the mock it was taken in: a new mock starts with new backends."""

    def __init__(self, backends: list[BaseBackend], saved: list[dict[str, Any]]) -> None:
        self._backends = backends
        self._saved = saved

    @classmethod
    def capture(cls) -> MotoState:
        backends = _live_backends()
        # A backend met inside another's state (models keep references to their backend) stays that very object.
        memo: dict[int, Any] = {id(backend): backend for backend in backends}
        return cls(backends, copy.deepcopy([backend.__dict__ for backend in backends], memo))

    def restore(self) -> None:
        live = _live_backends()
        memo: dict[int, Any] = {id(backend): backend for backend in live}
        restored = copy.deepcopy(self._saved, memo)  # the snapshot itself stays untouched for the next restore
        for backend, state in zip(self._backends, restored, strict=True):
            backend.__dict__ = state
        known = {id(backend) for backend in self._backends}
        for backend in live:
            if id(backend) not in known:  # created after the snapshot: it held nothing then
                backend.reset()
