"""The weekly audit's short summary of the prefer-roles advisor's last run: how many keys got each recommendation,
how old that advice is, and the keys a role could replace. Pure logic over the advisor's remembered
recommendations (the audit reads them, never CloudTrail)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from key_lifecycle.domain.advisor import Recommendation
from key_lifecycle.models.dates import parse_timestamp, whole_days

# What the key keeps (keep_key) or loses anyway (unused: the cleanup's business) is no replacement by a role.
NOT_A_REPLACEMENT = frozenset({Recommendation.KEEP_KEY.value, Recommendation.UNUSED.value})
# The summary lists at most this many replaceable keys (the count is always complete).
MAX_LISTED = 100


def replaces_key(recommendation: str) -> bool:
    """Whether a recommendation names a role (of a kind) that would replace the key."""
    return recommendation not in NOT_A_REPLACEMENT


def summarize_advice(
    recommendations: Mapping[str, str],
    written_at: str | None,
    now: datetime,
    user_of: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`advised_at` and `age_days` (null before the advisor's first run or after its memory expired), `keys`,
    `counts` per recommendation, and `replaceable` (user, key, recommendation; sorted; at most MAX_LISTED) with
    `replaceable_count`. `user_of` maps access key ids to user names where the caller knows them."""
    user_of = user_of or {}
    advised = parse_timestamp(written_at) if written_at else None
    replaceable = sorted(
        (
            {"user_name": user_of.get(key_id), "access_key_id": key_id, "recommendation": recommendation}
            for key_id, recommendation in recommendations.items()
            if replaces_key(recommendation)
        ),
        key=lambda entry: ((entry["user_name"] or "").lower(), entry["access_key_id"]),
    )
    return {
        "advised_at": written_at if advised is not None else None,
        "age_days": whole_days(advised, now) if advised is not None else None,
        "keys": len(recommendations),
        "counts": dict(sorted(Counter(recommendations.values()).items())),
        "replaceable_count": len(replaceable),
        "replaceable": replaceable[:MAX_LISTED],
    }
