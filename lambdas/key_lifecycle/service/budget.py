"""The Lambda time budget of a run: one check the runner (and any parallel runner) makes before each user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Enough for the slowest single user (a new key's verification waits up to VERIFY_TIMEOUT_SECONDS) plus the
# report, the metrics and the notification that follow the last action.
DEFAULT_RESERVE_SECONDS = 45.0


@dataclass(frozen=True)
class Budget:
    """`remaining_ms` is the Lambda context's get_remaining_time_in_millis; None means no limit (tests, scripts)."""

    remaining_ms: Callable[[], int] | None = None
    reserve_seconds: float = DEFAULT_RESERVE_SECONDS

    def exhausted(self) -> bool:
        """True when starting another user could be cut off by the Lambda timeout."""
        if self.remaining_ms is None:
            return False
        return self.remaining_ms() < self.reserve_seconds * 1000


UNLIMITED = Budget()
