"""Security Hub: findings imported by the account itself into its default product (BatchImportFindings), in
batches of 100; a finding Security Hub refuses is reported by its id, never silently dropped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call

BATCH = 100


class FindingsGateway:
    def __init__(self, client: Any) -> None:
        self._client = client

    def import_findings(self, findings: Sequence[dict[str, Any]]) -> list[str]:
        """Import (create or update by id) every finding; the ids Security Hub refused. Raises AwsError when a
        call fails as a whole."""
        refused: list[str] = []
        for start in range(0, len(findings), BATCH):
            batch = list(findings[start : start + BATCH])
            response = call(self._client, "BatchImportFindings", Findings=batch)
            refused += [str(f.get("Id")) for f in response.get("FailedFindings") or []]
        return refused


__all__ = ["AwsError", "FindingsGateway"]
