"""IAM reads for the posture audit: the account summary and the users' direct policies (the credential report is
the IAM gateway's)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from key_lifecycle.gateways.errors import call, paginate


class PostureGateway:
    def __init__(self, client: Any, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._sleep = sleep

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
