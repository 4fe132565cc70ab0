"""Real-shaped CloudTrail IAM events, as EventBridge delivers them (fixtures/cloudtrail/*.json; passwords masked,
secret keys left out): the detection rules', handler's and e2e tests' samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLOUDTRAIL_EVENTS = Path(__file__).resolve().parent / "fixtures" / "cloudtrail"


def cloudtrail_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((CLOUDTRAIL_EVENTS / f"{name}.json").read_text())
    return event


CLOUDTRAIL_RECORDS = Path(__file__).resolve().parent / "fixtures" / "cloudtrail_records"


def cloudtrail_records(name: str) -> list[dict[str, Any]]:
    """The records of fixtures/cloudtrail_records/<name>.json, a CloudTrail log file (`{"Records": [...]}`): the
    prefer-roles advisor's samples of keys used from various places."""
    records: list[dict[str, Any]] = json.loads((CLOUDTRAIL_RECORDS / f"{name}.json").read_text())["Records"]
    return records
