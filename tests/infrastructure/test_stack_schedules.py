"""The EventBridge Scheduler schedules: group, expressions, time zone, inputs, retries, dead-letter queues, roles."""

from __future__ import annotations

import json

import pytest

from tests.support.stack_template import FUNCTIONS, Synth, normalize, render

pytestmark = pytest.mark.xdist_group("synth")

SCHEDULES = {
    # schedule: (function, input, expression)
    "Reconcile": ("create_keys", {"action": "reconcile"}, "rate(1 hour)"),
    "Rotate": ("rotate_keys", {}, "cron(0 9 ? * MON-FRI *)"),
    "Cleanup": ("cleanup_users", {}, "cron(0 6 * * ? *)"),
    "Advise": ("rotate_keys", {"action": "advise"}, "cron(0 8 ? * MON *)"),
    "Digest": ("create_keys", {"action": "digest"}, "cron(0 8 * * ? *)"),
}


def schedule(s: Synth, name: str) -> dict:
    return dict(render(s.properties("AWS::Scheduler::Schedule", f"Schedules{name}Schedule")))


def test_all_schedules_are_in_the_stack_schedule_group(default_synth: Synth) -> None:
    group = default_synth.properties("AWS::Scheduler::ScheduleGroup", "SchedulesGroup")
    assert len(default_synth.of_type("AWS::Scheduler::Schedule")) == 6
    # (Ref of a schedule group returns its name; without a Name property CloudFormation generates one per create)
    for name in SCHEDULES:
        assert schedule(default_synth, name)["GroupName"] == default_synth.ref(
            "AWS::Scheduler::ScheduleGroup", "SchedulesGroup"
        )
    assert "Name" not in group


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_invokes_its_function_with_its_input_when_configured(default_synth: Synth, name: str) -> None:
    function, payload, expression = SCHEDULES[name]
    props = schedule(default_synth, name)
    assert props["ScheduleExpression"] == expression
    assert props["ScheduleExpressionTimezone"] == "UTC"
    assert props["State"] == "ENABLED"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = default_synth.arn("AWS::Lambda::Function", f"Functions{FUNCTIONS[function]}Function")
    assert props["Target"]["Arn"] == target
    assert json.loads(props["Target"]["Input"]) == payload


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_retries_then_dead_letters_to_its_own_queue(default_synth: Synth, name: str) -> None:
    target = schedule(default_synth, name)["Target"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600}
    queue = default_synth.arn("AWS::SQS::Queue", f"Schedules{name}DeadLetterQueue")
    assert target["DeadLetterConfig"] == {"Arn": queue}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_schedule_role_can_only_invoke_its_function_and_dead_letter(default_synth: Synth, name: str) -> None:
    function = default_synth.arn("AWS::Lambda::Function", f"Functions{FUNCTIONS[SCHEDULES[name][0]]}Function")
    # Given the schedule's execution role
    assert schedule(default_synth, name)["Target"]["RoleArn"] == default_synth.arn(
        "AWS::IAM::Role", f"Schedules{name}Role"
    )
    role = render(default_synth.properties("AWS::IAM::Role", f"Schedules{name}Role"))
    # Then only EventBridge Scheduler of this account can assume it
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "scheduler.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"}},
        }
    ]
    # And it may invoke that one function (its versions included) and write to its dead-letter queue, nothing else
    assert sorted(default_synth.role_policy_statements(f"Schedules{name}Role"), key=lambda s: s["Action"]) == [
        normalize({"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": [function, f"{function}:*"]}),
        normalize(
            {
                "Effect": "Allow",
                "Action": "sqs:SendMessage",
                "Resource": default_synth.arn("AWS::SQS::Queue", f"Schedules{name}DeadLetterQueue"),
            }
        ),
    ]


def test_schedules_can_be_disabled_and_use_the_configured_time_zone(variant_synth: Synth) -> None:
    # Given a context disabling reconcile and cleanup, in Europe/Berlin
    lifecycle = [name for name in SCHEDULES if name != "Digest"]
    states = {name: schedule(variant_synth, name)["State"] for name in lifecycle}
    # Then those two are deployed DISABLED, rotate stays ENABLED, all in the configured time zone
    assert states == {"Reconcile": "DISABLED", "Rotate": "ENABLED", "Cleanup": "DISABLED", "Advise": "ENABLED"}
    assert {schedule(variant_synth, name)["ScheduleExpressionTimezone"] for name in lifecycle} == {"Europe/Berlin"}
    # And with the digest off (digest: "off"), it has no schedule at all
    assert not [key for key in variant_synth.of_type("AWS::Scheduler::Schedule") if key.startswith("SchedulesDigest")]
