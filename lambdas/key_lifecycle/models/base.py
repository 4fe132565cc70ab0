"""Plain-dataclass models with the pydantic-style helpers the code uses (model_copy, model_dump), and the explicit
field checks behind settings and payloads. Pydantic would add a fifth of a second to every cold start."""

from __future__ import annotations

import re
from dataclasses import Field, fields, replace
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

# Pydantic's wording for each kind of problem, so messages read the same as before the models left pydantic (the
# stack turns these kinds back into pydantic errors at synth; tests/unit/test_models_base.py checks the wording).
MESSAGES = {
    "missing": "Field required",
    "extra_forbidden": "Extra inputs are not permitted",
    "string_type": "Input should be a valid string",
    "string_too_short": "String should have at least {min_length} character{plural}",
    "string_too_long": "String should have at most {max_length} character{plural}",
    "string_pattern_mismatch": "String should match pattern '{pattern}'",
    "int_type": "Input should be a valid integer",
    "int_parsing": "Input should be a valid integer, unable to parse string as an integer",
    "int_from_float": "Input should be a valid integer, got a number with a fractional part",
    "float_type": "Input should be a valid number",
    "float_parsing": "Input should be a valid number, unable to parse string as a number",
    "bool_type": "Input should be a valid boolean",
    "bool_parsing": "Input should be a valid boolean, unable to interpret input",
    "tuple_type": "Input should be a valid tuple",
    "literal_error": "Input should be {expected}",
    "greater_than": "Input should be greater than {gt}",
    "greater_than_equal": "Input should be greater than or equal to {ge}",
    "less_than_equal": "Input should be less than or equal to {le}",
    "value_error": "Value error, {error}",
}

# What pydantic reads as an integer from a string: ASCII digits, "_" between digits, a zero fraction ("14.0").
_INT_TEXT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*(?:\.0+)?")
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class Problem(ValueError):
    """One field's problem: `kind` is pydantic's error type, `ctx` the values its message names."""

    def __init__(self, kind: str, **ctx: Any) -> None:
        self.kind, self.ctx = kind, ctx
        super().__init__(message(kind, ctx))


def message(kind: str, ctx: dict[str, Any]) -> str:
    values = dict(ctx)
    if kind in ("string_too_short", "string_too_long"):
        values["plural"] = "" if values.get("min_length", values.get("max_length")) == 1 else "s"
    return MESSAGES[kind].format(**values)


class Rule:
    """How one field is checked. `kind`: int, float, bool, str, literal or int_tuple; `strict`: no conversion
    (manual payloads), else the conversions environment variables need ("14" → 14, "true" → True)."""

    __slots__ = ("choices", "ge", "gt", "kind", "le", "max_length", "min_length", "optional", "pattern", "regex")

    def __init__(
        self,
        kind: str,
        *,
        optional: bool = False,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        choices: tuple[str, ...] = (),
    ) -> None:
        self.kind, self.optional, self.choices = kind, optional, choices
        self.ge, self.gt, self.le = ge, gt, le
        self.min_length, self.max_length, self.pattern = min_length, max_length, pattern
        self.regex = re.compile(pattern) if pattern else None

    def check(self, value: Any, *, strict: bool) -> Any:
        """The value as the field holds it; raises Problem."""
        if value is None and self.optional:
            return None
        value = _convert(self, value, strict=strict)
        if self.kind in ("int", "float"):
            # In pydantic's order, and written as "not (a op b)" so that NaN fails a bound as it does there.
            if self.le is not None and not value <= self.le:
                raise Problem("less_than_equal", le=self.le)
            if self.ge is not None and not value >= self.ge:
                raise Problem("greater_than_equal", ge=self.ge)
            if self.gt is not None and not value > self.gt:
                raise Problem("greater_than", gt=self.gt)
        if self.kind == "str":
            if self.min_length is not None and len(value) < self.min_length:
                raise Problem("string_too_short", min_length=self.min_length)
            if self.max_length is not None and len(value) > self.max_length:
                raise Problem("string_too_long", max_length=self.max_length)
            # fullmatch: `$` alone would also accept a trailing newline, which pydantic's (Rust) regex does not.
            if self.regex is not None and not self.regex.fullmatch(value):
                raise Problem("string_pattern_mismatch", pattern=self.pattern)
        return value


def _convert(rule: Rule, value: Any, *, strict: bool) -> Any:
    kind = rule.kind
    if kind in ("str", "literal"):
        if not isinstance(value, str):
            raise Problem("string_type") if kind == "str" else _literal_problem(rule)
        if kind == "literal" and value not in rule.choices:
            raise _literal_problem(rule)
        return value
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if strict:
            raise Problem("bool_type")
        if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        if isinstance(value, int | float) and value in (0, 1):
            return bool(value)
        raise Problem("bool_parsing")
    if kind == "int":
        return _int(value, strict=strict)
    if kind == "float":
        if isinstance(value, float) or (isinstance(value, int) and not (strict and isinstance(value, bool))):
            return float(value)
        if strict or not isinstance(value, str):
            raise Problem("float_type")
        try:
            return float(value)
        except ValueError:
            raise Problem("float_parsing") from None
    if kind == "int_tuple":
        if isinstance(value, list | tuple):
            return tuple(_int(item, strict=strict) for item in value)
        raise Problem("tuple_type")
    raise AssertionError(f"unknown rule kind {kind}")


def _int(value: Any, *, strict: bool) -> int:
    if isinstance(value, bool):
        if strict:
            raise Problem("int_type")
        return int(value)
    if isinstance(value, int):
        return value
    if strict:
        raise Problem("int_type")
    if isinstance(value, float):
        if not value.is_integer():
            raise Problem("int_from_float")
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if not _INT_TEXT.fullmatch(text):
            raise Problem("int_parsing")
        return int(text.partition(".")[0])
    raise Problem("int_type")


def _literal_problem(rule: Rule) -> Problem:
    choices = [repr(choice) for choice in rule.choices]
    expected = " or ".join(choices) if len(choices) <= 2 else ", ".join(choices[:-1]) + " or " + choices[-1]
    return Problem("literal_error", expected=expected)


def rule(kind: str, **options: Any) -> dict[str, Rule]:
    """Field metadata: `field(default=7, metadata=rule("int", ge=1))`."""
    return {"rule": Rule(kind, **options)}


def validate_fields(
    model_fields: tuple[Field[Any], ...], values: dict[str, Any], *, strict: bool
) -> list[dict[str, Any]]:
    """Check and convert `values` in place, field by field in declaration order; the problems of every field
    (as pydantic lists them: each declared field, then each unknown one), empty when all is well."""
    problems: list[dict[str, Any]] = []
    known = set()
    for spec in model_fields:
        known.add(spec.name)
        check = spec.metadata.get("rule")
        if check is None or spec.name not in values:
            continue
        try:
            values[spec.name] = check.check(values[spec.name], strict=strict)
        except Problem as problem:
            problems.append(_problem(spec.name, problem, values[spec.name]))
    for name in values:
        if name not in known:
            problems.append(_problem(name, Problem("extra_forbidden"), values[name]))
    return problems


def _problem(field: str, problem: Problem, value: Any) -> dict[str, Any]:
    return {"field": field, "type": problem.kind, "message": str(problem), "ctx": problem.ctx, "input": value}


def missing(model_fields: tuple[Field[Any], ...], values: dict[str, Any]) -> list[dict[str, Any]]:
    from dataclasses import MISSING

    return [
        {"field": spec.name, "type": "missing", "message": MESSAGES["missing"], "ctx": {}, "input": values}
        for spec in model_fields
        if spec.init and spec.name not in values and spec.default is MISSING and spec.default_factory is MISSING
    ]


# Dumping -----------------------------------------------------------------------------------------------------


class _FieldNames:
    """`Model.model_fields`: the fields by name, as pydantic lists them on the class."""

    def __get__(self, instance: object, owner: type) -> dict[str, Field[Any]]:
        return {spec.name: spec for spec in fields(owner)}


class Model:
    """The helpers of pydantic's BaseModel that the code relies on, for dataclasses."""

    __slots__ = ()
    model_fields = _FieldNames()

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Any:
        return replace(self, **(update or {}))  # type: ignore[type-var]

    def model_dump(self, *, mode: str = "python") -> dict[str, Any]:
        return {
            spec.name: _dump(getattr(self, spec.name), json=mode == "json")
            for spec in fields(self)  # type: ignore[arg-type]
            if not spec.name.startswith("_")  # a cache, not data
        }


def _dump(value: Any, *, json: bool) -> Any:
    if isinstance(value, Model):
        return value.model_dump(mode="json" if json else "python")
    if isinstance(value, dict):
        return {(_dump(k, json=json) if json else k): _dump(v, json=json) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(item, json=json) for item in value]
    if isinstance(value, tuple):
        items = [_dump(item, json=json) for item in value]
        return items if json else tuple(items)
    if not json:
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if value.utcoffset() is not None and value.utcoffset() == UTC.utcoffset(None) else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return [_dump(item, json=json) for item in value]
    return value
