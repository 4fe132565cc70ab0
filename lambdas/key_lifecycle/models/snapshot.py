"""A read-only snapshot of the account state the planner decides from: users, their keys, their secrets.
Frozen dataclasses: filled from AWS responses by the gateways, never from a caller's payload."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from key_lifecycle.models.base import Model


def _as_tuple(model: object, name: str) -> None:
    # Callers pass lists as often as tuples; a frozen snapshot holds tuples (and compares equal either way).
    value = getattr(model, name)
    if not isinstance(value, tuple):
        object.__setattr__(model, name, tuple(value))


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessKeyState(Model):
    access_key_id: str
    status: str  # "Active" | "Inactive"
    create_date: datetime
    last_used_date: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretVersionState(Model):
    """One version of a user's secret. Version ids are `<access key id>-<32 hex>`, so the key a
    version holds is known without reading the secret value."""

    version_id: str
    stages: tuple[str, ...] = ()
    created_date: datetime | None = None

    def __post_init__(self) -> None:
        _as_tuple(self, "stages")

    @property
    def access_key_id(self) -> str | None:
        head, sep, _ = self.version_id.partition("-")
        return head if sep and head.startswith(("AKIA", "ASIA")) else None


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretState(Model):
    name: str
    arn: str
    versions: tuple[SecretVersionState, ...] = ()
    deleted_date: datetime | None = None  # scheduled for deletion (in its recovery window)

    def __post_init__(self) -> None:
        _as_tuple(self, "versions")


@dataclass(frozen=True, slots=True, kw_only=True)
class UserState(Model):
    user_name: str
    user_id: str = ""
    arn: str
    path: str
    create_date: datetime
    tags: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] = ()
    keys: tuple[AccessKeyState, ...] = ()
    secret: SecretState | None = None
    permissions_boundary_arn: str | None = None

    def __post_init__(self) -> None:
        # A copy, as the snapshot is the state as read: a caller changing its dict later must not change it.
        object.__setattr__(self, "tags", dict(self.tags))
        _as_tuple(self, "groups")
        _as_tuple(self, "keys")


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountSnapshot(Model):
    """Every user of the account (keys and secrets filled in for users under the managed path)."""

    users: tuple[UserState, ...] = ()
    # Built on the first find: a run over 5,000 users looks users up once per action.
    _by_name: dict[str, UserState] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _as_tuple(self, "users")

    def find(self, user_name: str) -> UserState | None:
        """IAM user names are case-insensitive: `Alice` and `alice` are the same user."""
        index = self._by_name
        if index is None:
            index = {}
            for user in self.users:
                index.setdefault(user.user_name.lower(), user)  # the first of two case variants, as a scan finds
            object.__setattr__(self, "_by_name", index)
        return index.get(user_name.lower())
