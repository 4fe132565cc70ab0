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
