"""Step Functions executions in the local account (moto's interpreter, `emulator/stepfunctions.py`), where moto
differs from AWS: ASL's ToleratedFailurePercentage is a number 0-100, an integer included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from local_account import LocalAccount


@pytest.fixture(scope="module")
def account() -> Iterator[LocalAccount]:
    with LocalAccount.empty(start=datetime(2026, 1, 5, 10, tzinfo=UTC)) as local:
        yield local


def test_tolerated_failure_percentage_may_be_an_integer(account: LocalAccount) -> None:
    # AWS: "ToleratedFailurePercentage ... any number from 0 through 100" (`10` as well as `10.0`); moto's parser
    # takes only a decimal (test_organization_moto.py pins that).
    definition = {
        "StartAt": "Accounts",
        "States": {
            "Accounts": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ToleratedFailurePercentage": 10,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Item",
                    "States": {"Item": {"Type": "Pass", "End": True}},
                },
                "End": True,
            }
        },
    }
    created = account.admin_client("stepfunctions").create_state_machine(
        name="integer-tolerance",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{account.account_id}:role/states",
    )
    done = account.start_execution(created["stateMachineArn"], {"items": [1, 2]})
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"]) == [1, 2]
