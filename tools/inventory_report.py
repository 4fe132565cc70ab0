"""`make report`: the inventory report ({"action": "report"}) of a seeded account emulated by moto, as a table."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "lambdas"), str(ROOT)]
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402
import time_machine  # noqa: E402
from moto import mock_aws  # noqa: E402

from handlers.common import reset_cold_start  # noqa: E402
from lifecycle.inventory import render_table  # noqa: E402


@dataclass
class _Context:
    function_name: str = "create_keys"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:create_keys"
    aws_request_id: str = "report"


def main() -> int:
    from handlers import create_keys, rotate_keys

    start = datetime(2030, 1, 1, 9, tzinfo=UTC)
    with mock_aws(), time_machine.travel(start, tick=False) as clock:
        reset_cold_start()
        iam = boto3.client("iam")
        iam.create_group(GroupName="temporary-users")
        os.environ["TEMPORARY_USER_GROUP"] = "temporary-users"
        for user, owner, ttl in (("ci-deployer", "platform@example.com", 200), ("contractor", "dana@example.com", 10)):
            create_keys.lambda_handler(
                {"action": "create_user", "user_name": user, "owner": owner, "ttl_days": ttl}, _Context()
            )
        iam.create_user(UserName="shadow", Path="/temporary/")  # in the path, not managed: counted, not listed
        clock.shift(timedelta(days=92))
        rotate_keys.lambda_handler({}, _Context())  # ci-deployer's key is rotated; its old key awaits deactivation
        clock.shift(timedelta(days=1))
        report = create_keys.lambda_handler({"action": "report"}, _Context())
    if "--json" in sys.argv:
        print(json.dumps(report["inventory"], indent=1))
    else:
        print(render_table(report["inventory"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
