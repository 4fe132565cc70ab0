"""A seeded moto account served on 127.0.0.1, so that a function's first invocation can be timed in a fresh
interpreter that holds nothing but the function. Usage: python -m bench.emulator --users 100 (prints the port,
serves until its standard input closes)."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100)
    args = parser.parse_args()
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        os.environ.pop(name, None)
    os.environ.update(
        {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    )

    import boto3
    from moto.server import ThreadedMotoServer

    from bench.seed import seed_account
    from key_lifecycle.models.settings import Settings
    from local_account.emulator import paging

    paging.install()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Never 0.0.0.0: nothing outside this machine may reach the emulator.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        _, port = server.get_host_and_port()
        seed_account(args.users, args.users // 10, Settings(), datetime.now(UTC))
        iam = boto3.client("iam", endpoint_url=f"http://127.0.0.1:{port}")
        # A recent credential report, as the hourly reconcile leaves one for the daily runs.
        while iam.generate_credential_report()["State"] != "COMPLETE":
            time.sleep(0.1)
        print(port, flush=True)
        sys.stdin.read()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
