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
def aws_fidelity() -> Iterator[None]:
    """Make the patched moto behave like AWS inside the block; nested blocks are fine.

    The patches are installed once per process but only judge while a block is open, so other
    tests running moto in the same process keep moto's own behaviour.
    """
    global _depth
    from local_account.emulator import install

    install()
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
