"""cdk-nag (AwsSolutions): nothing unacknowledged, and every acknowledgement one finding on one resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_sqs as sqs

from stacks.nag import acknowledge, add_checks
from tests.support.stack_template import Synth, synthesize

pytestmark = pytest.mark.xdist_group("synth")


@pytest.mark.parametrize("synth_name", ["default_synth", "variant_synth"])
def test_no_unacknowledged_findings(request: pytest.FixtureRequest, synth_name: str) -> None:
    # Given the app synthesized with the AwsSolutions checks, under the defaults and under the variant context
    synth: Synth = request.getfixturevalue(synth_name)
    # Then cdk-nag ran, and reported nothing that is not acknowledged
    assert [plugin["pluginName"] for plugin in synth.report["pluginReports"]] == ["AwsSolutions"]
    assert [(v["ruleName"], [c["constructPath"] for c in v["violatingConstructs"]]) for v in synth.violations] == []
    assert synth.suppressed, "the checks found nothing at all: are they running?"


def test_each_acknowledgement_is_on_the_resource_it_excuses_with_a_reason(default_synth: Synth) -> None:
    for finding in default_synth.suppressed:
        paths = {c["constructPath"] for c in finding["violatingConstructs"]}
        # One finding on one resource, acknowledged on that resource (not on a parent or on the stack)
        assert paths == {finding["acknowledgedAt"] + "/Resource"}, finding["ruleName"]
        assert len(finding["reason"]) >= 60, finding["ruleName"]


def test_no_acknowledgement_is_stale_or_stack_wide(default_synth: Synth) -> None:
    # Given every acknowledgement recorded in the assembly
    suppressed = {(f["acknowledgedAt"], f["acknowledgedId"]) for f in default_synth.suppressed}
    assert default_synth.acknowledgements
    # Then each one excuses a finding that exists, and none is set on the stack or the app
    for path, rule, _reason in default_synth.acknowledgements:
        assert (path, rule) in suppressed, f"stale acknowledgement {rule} on {path}"
        assert path.count("/") >= 2, f"acknowledgement {rule} on {path} is too wide"


def test_wildcard_findings_are_acknowledged_one_by_one(default_synth: Synth) -> None:
    # IAM5 acknowledgements name the exact wildcard (finding id), never the bare rule
    for finding in default_synth.suppressed:
        if finding["ruleName"].startswith(("AwsSolutions-IAM4", "AwsSolutions-IAM5")):
            assert "[" in finding["acknowledgedId"], finding


def test_a_new_finding_is_reported(tmp_path: Path) -> None:
    # Given an app with the same checks and a queue that breaks two rules, one of them acknowledged
    app = App(outdir=str(tmp_path))
    stack = Stack(app, "Probe")
    queue = sqs.Queue(stack, "Queue")
    acknowledge(queue, "SQS3", "Acknowledged here to show an acknowledgement excuses exactly one finding.")
    add_checks(app)
    # When it is synthesized the way the stack's tests synthesize it
    synth = synthesize(app, tmp_path)
    # Then the unacknowledged finding is reported, the acknowledged one suppressed
    assert {v["ruleName"] for v in synth.violations} == {"AwsSolutions-SQS4"}
    assert {s["ruleName"] for s in synth.suppressed} == {"AwsSolutions-SQS3"}
