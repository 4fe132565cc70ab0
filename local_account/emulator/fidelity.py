"""The switch that turns the AWS-fidelity patches on for the life of a local account (or a test)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0


def active() -> bool:
    """True while some local account (or test) asked moto to behave like AWS."""
    return _depth > 0


@contextmanager
def judging() -> Iterator[None]:
    """The installed patches judge inside the block; nested blocks are fine (see `emulator.aws_fidelity`)."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
