"""Makes two concurrent invocations overlap for certain: each waits for the other at its first lock request, so
both have read the account before either changes anything."""

from __future__ import annotations

import threading
from typing import Any


class MeetAtFirstLock:
    """A `before-call.dynamodb.PutItem` hook: once armed, the first lock request of each of `parties` runs waits
    for the rest. Install it before the functions' first run: a client keeps the hooks it was created with."""

    def __init__(self, parties: int = 2, timeout: float = 20.0) -> None:
        self.barrier = threading.Barrier(parties, timeout=timeout)
        self.lock = threading.Lock()
        self.parties = parties
        self.waiting = 0

    def arm(self) -> None:
        self.waiting = self.parties

    def __call__(self, params: dict[str, Any], **_: Any) -> None:
        if "attribute_not_exists" not in str(params):
            return  # a release, not a request for the lock
        with self.lock:
            if self.waiting == 0:
                return
            self.waiting -= 1
        self.barrier.wait()

    def install(self, events: Any) -> None:
        events.register("before-call.dynamodb.PutItem", self)


def atomic_conditional_writes(monkeypatch: Any) -> None:
    """DynamoDB checks a condition and writes as one step; moto in process does not when threads race, so two
    runs could both take a lock. The test serializes moto's PutItem, as the service does."""
    from moto.dynamodb.models import DynamoDBBackend

    original = DynamoDBBackend.put_item
    lock = threading.Lock()

    def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "put_item", put_item)
