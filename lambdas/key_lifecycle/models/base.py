"""The two helpers the snapshot and report dataclasses share with Pydantic models: `model_copy` and `model_dump`."""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, Self

from pydantic_core import to_jsonable_python


class Model:
    """A dataclass mix-in: a copy with changes (checked by the dataclass, as a new instance is), and a dump."""

    __slots__ = ()

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Self:
        return replace(self, **(update or {}))  # type: ignore[type-var]

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        """The fields as a dict; `mode="json"`: JSON values only (enums as values, times as ISO 8601 strings)."""
        values = to_jsonable_python(self) if mode == "json" else asdict(self)  # type: ignore[call-overload]
        return {name: value for name, value in values.items() if not name.startswith("_")}  # `_`: a cache
