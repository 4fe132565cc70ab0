"""An IAM policy's Condition element judged as AWS's policy evaluation logic documents: the string, ARN, Bool
and Null operators, their ...IfExists forms and the ForAllValues/ForAnyValue set operators."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

# A request context: lower-cased condition key → its values. A key absent from the request is absent here;
# a multivalued key (aws:TagKeys) holds every value.
Context = Mapping[str, Sequence[str]]

_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_POSITIVE = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool"})


class UnsupportedConditionError(ValueError):
    """A condition operator the local account does not evaluate: refused loudly rather than judged met."""


@lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    # `*` any run of characters, `?` exactly one; everything else literal. Case-sensitive, as StringLike is.
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"^{regex}$", re.DOTALL)


def _as_strings(values: Any) -> list[str]:
    values = values if isinstance(values, list) else [values]
    # JSON booleans (`true`) and numbers compare as their text, as IAM reads them.
    return [str(v).lower() if isinstance(v, bool) else str(v) for v in values]


def _matches(operator: str, expected: str, actual: str) -> bool:
    if operator == "StringEquals":
        return actual == expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() == expected.lower()
    if operator == "Bool":
        return actual.lower() == expected.lower()
    # StringLike, and ArnEquals/ArnLike, which AWS documents as behaving alike (wildcards in both).
    return _glob(expected).match(actual) is not None


def _operator_holds(operator: str, expected: list[str], actual: Sequence[str] | None) -> bool:
    set_operator, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    if if_exists:
        base = base[: -len("IfExists")]
    if base == "Null":
        if set_operator:
            raise UnsupportedConditionError(operator)
        # "true": the key is absent from the request; "false": present (with any value).
        return any((actual is None) == (value.lower() == "true") for value in expected)
    negated = base in _NEGATED
    positive = _NEGATED.get(base, base)
    if positive not in _POSITIVE or set_operator not in ("", "ForAllValues", "ForAnyValue"):
        raise UnsupportedConditionError(operator)

    def value_holds(value: str) -> bool:
        # Several values of one key are OR'ed; a negated operator holds when the value matches none of them.
        return any(_matches(positive, e, value) for e in expected) != negated

    if actual is None and if_exists:
        return True
    if set_operator == "ForAllValues":
        # True when every value in the request matches: vacuously so for an empty or absent key.
        return all(value_holds(value) for value in actual or ())
    if set_operator == "ForAnyValue":
        # False for an empty or absent key: there is no value to match.
        return any(value_holds(value) for value in actual or ())
    if actual is None:
        # An absent key matches nothing, so only a negated operator holds ("does not equal" anything).
        return negated
    return any(value_holds(value) for value in actual)


def conditions_hold(condition: Mapping[str, Mapping[str, Any]] | None, context: Context) -> bool:
    """Whether a statement's Condition block holds for a request: every operator and every key in it (AND),
    any of a key's values (OR). Key names compare without regard to case, as IAM's do."""
    for operator, keys in (condition or {}).items():
        for key, expected in keys.items():
            if not _operator_holds(operator, _as_strings(expected), context.get(key.lower())):
                return False
    return True
