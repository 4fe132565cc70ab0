"""The account root user's access keys, which moto does not model: AWS counts them in GetAccountSummary
(AccountAccessKeysPresent) and shows them in the credential report's `<root_account>` row."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.iam.models import AccountSummary, IAMBackend, iam_backends
from moto.iam.responses import IamResponse

ROOT_ROW = "<root_account>"
MAX_ROOT_KEYS = 2
_ATTRIBUTE = "root_access_keys"  # kept on the IAM backend, so a reset of the emulator forgets them
_original_summary_map: Any = AccountSummary.summary_map


def root_access_keys(backend: IAMBackend) -> dict[str, tuple[datetime, str]]:
    """The root user's access keys in this account: id → (created, status)."""
    keys: dict[str, tuple[datetime, str]] = backend.__dict__.setdefault(_ATTRIBUTE, {})
    return keys


def create_root_access_key(account_id: str, partition: str = "aws") -> dict[str, Any]:
    """A root access key, as the root user signing CreateAccessKey gets it, without its secret: the emulator
    has no root credentials, so the key exists for IAM's reports but signs nothing."""
    install()
    keys = root_access_keys(iam_backends[account_id][partition])
    if len(keys) >= MAX_ROOT_KEYS:
        raise ValueError(f"the root user already has {MAX_ROOT_KEYS} access keys")
    alphabet = string.ascii_uppercase + "234567"
    access_key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    created = utcnow().replace(tzinfo=UTC, microsecond=0)
    keys[access_key_id] = (created, "Active")
    return {"AccessKeyId": access_key_id, "Status": "Active", "CreateDate": created}


def _summary_map(self: AccountSummary) -> dict[str, Any]:
    summary: dict[str, Any] = _original_summary_map.fget(self)
    # An inactive root key is still present: only deleting it clears the flag.
    if root_access_keys(self._iam_backend):
        summary["AccountAccessKeysPresent"] = 1
    return summary


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def root_row(account_id: str, keys: dict[str, tuple[datetime, str]], account_created: datetime) -> str:
    """The credential report's root row (the root user's password and certificates are not modelled)."""
    slots = [
        f"{str(status == 'Active').lower()},{_when(created)},N/A,N/A,N/A" for created, status in sorted(keys.values())
    ]
    slots += ["false,N/A,N/A,N/A,N/A"] * (MAX_ROOT_KEYS - len(slots))
    return (
        f"{ROOT_ROW},arn:aws:iam::{account_id}:root,{_when(account_created)},not_supported,no_information,"
        f"not_supported,not_supported,false,{slots[0]},{slots[1]},false,N/A,false,N/A\n"
    )


def _with_root_row(original: Callable[[IamResponse], ActionResult]) -> Callable[[IamResponse], ActionResult]:
    def get_credential_report(self: IamResponse) -> ActionResult:
        result = original(self)
        backend: IAMBackend = self.backend
        keys = root_access_keys(backend)
        body = result.result
        if not keys or not isinstance(body, dict) or not body.get("Content"):
            return result
        content = body["Content"]
        text = content.decode() if isinstance(content, bytes) else str(content)
        if f"\n{ROOT_ROW}," in text:
            return result
        header, _, rows = text.partition("\n")
        created = [user.create_date for user in backend.users.values()] + [c for c, _ in keys.values()]
        account_created = min(c if c.tzinfo else c.replace(tzinfo=UTC) for c in created)
        # AWS lists the root user first.
        text = f"{header}\n{root_row(backend.account_id, keys, account_created)}{rows}"
        return ActionResult({**body, "Content": text.encode() if isinstance(content, bytes) else text})

    get_credential_report.root_keys = True  # type: ignore[attr-defined]
    return get_credential_report


def install() -> None:
    """Patch moto (again if the credential report's reader was replaced since); idempotent."""
    AccountSummary.summary_map = property(_summary_map)  # type: ignore[method-assign,assignment]
    current = IamResponse.get_credential_report
    if not getattr(current, "root_keys", False):
        IamResponse.get_credential_report = _with_root_row(current)  # type: ignore[method-assign,assignment]
