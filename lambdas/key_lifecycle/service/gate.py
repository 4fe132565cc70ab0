"""Whether a run may start on a user now: time left in the Lambda budget, and the user's lock.

The runner asks before a user's first action and hands the user back after its last; anything that applies a
plan (in order or in parallel) does the same, so a user is never worked on by two runs at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import uuid4

from key_lifecycle.models.constants import WarningCode
from key_lifecycle.service.budget import UNLIMITED, Budget

if TYPE_CHECKING:
    from key_lifecycle.gateways.locks import Grant, LockGateway

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Skip:
    code: WarningCode  # LOCKED_BY_ANOTHER_RUN | TIME_BUDGET_EXHAUSTED
    message: str


class UserGate:
    def __init__(self, locks: LockGateway | None, run_started: datetime, budget: Budget = UNLIMITED) -> None:
        self.locks = locks
        self.budget = budget
        self.run_started = run_started.timestamp()
        self.owner = uuid4().hex
        self._held: dict[str, Grant] = {}

    def enter(self, user_name: str) -> Skip | None:
        """None: go ahead (the lock is held until `leave`). A Skip: leave the user alone in this run.
        Raises AwsError when the lock table cannot be reached (the user's actions then fail, nothing is done)."""
        if self.budget.exhausted():
            return Skip(
                WarningCode.TIME_BUDGET_EXHAUSTED,
                "not started: the run is near its Lambda time limit; the next run continues",
            )
        if self.locks is None:
            return None
        key = user_name.lower()  # IAM user names are case-insensitive
        grant = self.locks.acquire(key, self.owner)
        if grant is None:
            return Skip(
                WarningCode.LOCKED_BY_ANOTHER_RUN,
                "skipped: another run is working on this user; the next run decides again",
            )
        if grant.previous_release is not None and grant.previous_release > self.run_started:
            # Another run finished on this user after this run read the account: this run's plan is stale.
            self.locks.release(grant)
            return Skip(
                WarningCode.LOCKED_BY_ANOTHER_RUN,
                "skipped: another run changed this user after this run read it; the next run decides",
            )
        self._held[key] = grant
        return None

    def leave(self, user_name: str) -> None:
        grant = self._held.pop(user_name.lower(), None)
        if grant is None or self.locks is None:
            return
        try:
            if not self.locks.release(grant):
                log.warning("lock was taken over before release", extra={"lock": grant.key})
        except Exception as exc:
            # The hold expires on its own; a failed release only delays the next run on this user.
            log.warning("lock release failed", extra={"lock": grant.key, "error": type(exc).__name__})

    def leave_all(self) -> None:
        for key in list(self._held):
            self.leave(key)
