"""The IAM credential report: every user's password and access keys (status, creation, last use) in one document,
by slot and without key ids. It can be up to 4 hours old: the lifecycle reads it to know where to look, the posture
audit to report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

ROOT_ROW = "<root_account>"


@dataclass(frozen=True)
class KeySlot:
    """One of the two access key columns of a row (the report names no key id)."""

    slot: int
    active: bool
    last_rotated: datetime | None  # the key's creation time, to the second; None: the slot holds no key
    last_used: datetime | None


@dataclass(frozen=True)
class CredentialRow:
    user: str
    arn: str
    created: datetime | None
    password_enabled: bool
    password_last_used: datetime | None
    password_last_changed: datetime | None
    keys: tuple[KeySlot, ...] = ()
    # False when a key slot's creation time could not be read: the row's keys are then unknown.
    readable: bool = True

    @property
    def held_keys(self) -> tuple[KeySlot, ...]:
        """The slots that hold a key."""
        return tuple(key for key in self.keys if key.last_rotated is not None)


@dataclass(frozen=True)
class CredentialReport:
    generated: datetime
    rows: tuple[CredentialRow, ...]
    _by_user: dict[str, CredentialRow] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        readable = {row.user: row for row in self.rows if row.user != ROOT_ROW and row.readable}
        object.__setattr__(self, "_by_user", readable)

    def user_row(self, user_name: str) -> CredentialRow | None:
        """The row of an IAM user whose keys could be read (never the root row)."""
        return self._by_user.get(user_name)
