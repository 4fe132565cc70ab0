"""Cross-Region forwarding in the local account's EventBridge delivery: a rule whose target is another Region's
event bus puts the event there with the target's role, so the role's own policies must allow events:PutEvents on
that bus ("We recommend always using IAM roles when the target of a rule is an event bus", EventBridge User Guide,
Permissions for event buses)."""

from __future__ import annotations

import json

import boto3
import pytest

from local_account.trail import role_may_put_events
from tests.local_account.emulator_helpers import ACCOUNT, allow, policy

BUS = f"arn:aws:events:eu-west-1:{ACCOUNT}:event-bus/default"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _role(name: str, *statements: dict[str, object]) -> str:
    iam = boto3.client("iam")
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"])
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="forward", PolicyDocument=policy(*statements))
    return arn


@pytest.mark.parametrize(
    ("statements", "allowed"),
    [
        ([allow("events:PutEvents", BUS)], True),
        ([allow("events:*", "*")], True),
        ([], False),
        ([allow("events:PutEvents", BUS.replace("eu-west-1", "eu-central-1"))], False),
        ([allow("events:PutEvents", BUS), {"Effect": "Deny", "Action": "events:*", "Resource": "*"}], False),
    ],
    ids=["this-bus", "wildcard", "no-policy", "other-bus", "explicit-deny"],
)
def test_a_forward_needs_the_targets_role_to_allow_putevents_on_the_bus(
    aws: None, statements: list[dict[str, object]], allowed: bool
) -> None:
    assert role_may_put_events(ACCOUNT, _role("forwarder", *statements), BUS) is allowed


def test_a_forward_with_a_role_that_does_not_exist_is_refused(aws: None) -> None:
    assert role_may_put_events(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:role/missing", BUS) is False
