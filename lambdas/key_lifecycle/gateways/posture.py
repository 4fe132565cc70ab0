"""IAM reads for the posture audit: the credential report, the account summary and the users' direct policies."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from key_lifecycle.gateways.errors import AwsError, call, paginate

# The report is generated asynchronously and usually ready within seconds; IAM offers no way but polling.
REPORT_WAITS = (1.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0)
NOT_READY = frozenset({"ReportInProgress", "ReportNotPresent", "ReportExpired"})


class PostureGateway:
    def __init__(self, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._sleep = sleep

    def credential_report(self) -> str:
        """The CSV of the account's credential report, generated afresh if IAM has none or an old one."""
        call(self._client, "GenerateCredentialReport")
        for wait in (*REPORT_WAITS, None):
            try:
                content = call(self._client, "GetCredentialReport")["Content"]
            except AwsError as exc:
                if exc.code not in NOT_READY or wait is None:
                    raise
                self._sleep(wait)
                continue
            return content.decode() if isinstance(content, bytes) else str(content)
        raise AwsError("GetCredentialReport", "ReportInProgress")  # pragma: no cover - the loop returns or raises

    def root_access_keys_present(self) -> bool:
        summary = call(self._client, "GetAccountSummary").get("SummaryMap", {})
        return int(summary.get("AccountAccessKeysPresent", 0)) > 0

    def user_policies(self) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
        """Per user: the names of its attached managed policies and of its inline policies (in bulk)."""
        found: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        for user in paginate(self._client, "GetAccountAuthorizationDetails", "UserDetailList", Filter=["User"]):
            attached = tuple(p["PolicyName"] for p in user.get("AttachedManagedPolicies", []))
            inline = tuple(p["PolicyName"] for p in user.get("UserPolicyList", []))
            if attached or inline:
                found[user["UserName"]] = (attached, inline)
        return found
