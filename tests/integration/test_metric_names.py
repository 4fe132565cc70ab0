"""The dashboard graphs the metrics the functions emit: the names come from one place, and a run emits them all."""

from __future__ import annotations

import json
from typing import Any

import pytest

from key_lifecycle.models.constants import METRICS_NAMESPACE, Metric, PostureMetric
from stacks.monitoring import LIFECYCLE_METRICS, POSTURE_METRICS


def _emitted(output: str) -> set[str]:
    """The metric names of the EMF documents Powertools printed."""
    names: set[str] = set()
    for line in output.splitlines():
        if not line.startswith("{"):
            continue
        document: dict[str, Any] = json.loads(line)
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            assert directive["Namespace"] == METRICS_NAMESPACE
            names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def test_a_scheduled_run_emits_every_lifecycle_metric_the_dashboard_graphs(
    account: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a quiet account, when the daily rotation runs
    capsys.readouterr()
    account.invoke("rotate_keys", {})
    # Then it emits each lifecycle metric (zeros included), exactly the ones the dashboard graphs
    emitted = _emitted(capsys.readouterr().out)
    assert set(LIFECYCLE_METRICS) == {metric.value for metric in Metric}
    assert set(LIFECYCLE_METRICS) <= emitted


def test_an_audit_emits_every_posture_metric_the_dashboard_graphs(
    account: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    account.invoke("create_keys", {"action": "audit"})
    emitted = _emitted(capsys.readouterr().out)
    assert set(POSTURE_METRICS) == {metric.value for metric in PostureMetric}
    assert set(POSTURE_METRICS) <= emitted
