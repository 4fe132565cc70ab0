"""The new-key readiness check: sts:GetCallerIdentity signed with the new key, with bounded backoff."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

# Our own loop does the waiting: one attempt per call keeps the backoff bounded by the timeout.
VERIFY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=5, read_timeout=10)
FIRST_DELAY_SECONDS = 0.5
# A boto3 session is not thread-safe while it builds clients; users are worked on by several threads.
CLIENT_LOCK = threading.Lock()

VerifyStatus = Literal["verified", "pending", "mismatch"]


@dataclass(frozen=True)
class Verification:
    status: VerifyStatus
    arn: str | None  # what STS said the key belongs to (on "verified" and "mismatch")
    attempts: int
    last_error: str | None = None  # error code of the last failed attempt, for the report


class KeyVerifier:
    """New IAM keys take seconds to work everywhere, and no API says when: the only wait written by hand."""

    def __init__(
        self,
        session: boto3.session.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._session = session
        self.sleep = sleep
        self.clock = clock

    def _client_for(self, access_key_id: str, secret_access_key: str) -> Any:
        # Explicit credentials replace the function's own, session token included; region and endpoint
        # configuration come from the same session as every other client.
        with CLIENT_LOCK:
            return self._session.client(
                "sts",
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                aws_session_token=None,
                config=VERIFY_CONFIG,
            )

    def verify(self, access_key_id: str, secret_access_key: str, expected_arn: str, timeout: float) -> Verification:
        deadline = self.clock() + timeout
        sts = self._client_for(access_key_id, secret_access_key)
        delay = FIRST_DELAY_SECONDS
        attempts = 0
        last_error: str | None = None
        while True:
            attempts += 1
            try:
                arn = str(sts.get_caller_identity()["Arn"])
            except ClientError as exc:
                # InvalidClientTokenId / SignatureDoesNotMatch are what a not-yet-propagated key looks like.
                last_error = str(exc.response.get("Error", {}).get("Code", "UnknownError"))[:64]
            except (BotoCoreError, ResponseParserError) as exc:
                # By type only: a ResponseParserError quotes the response body.
                last_error = type(exc).__name__
            else:
                status: VerifyStatus = "verified" if arn == expected_arn else "mismatch"
                return Verification(status=status, arn=arn, attempts=attempts)
            remaining = deadline - self.clock()
            if remaining <= 0:
                return Verification(status="pending", arn=None, attempts=attempts, last_error=last_error)
            self.sleep(min(delay, remaining))
            delay *= 2
