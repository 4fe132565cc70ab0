"""Access keys as AWS authenticates them: an inactive key signs nothing (InvalidClientTokenId), and a
request it signed is not recorded as the key's last use."""

from __future__ import annotations

from typing import Any

from moto.iam import access_control
from moto.iam import models as iam_models
from moto.utilities.utils import get_partition

from local_account.emulator.fidelity import active

_original_create_access_key = access_control.create_access_key
_original_mark_account_as_visited = iam_models.mark_account_as_visited


def _is_inactive(account_id: str, partition: str, access_key_id: str) -> bool:
    key = iam_models.iam_backends[account_id][partition].access_keys.get(access_key_id)
    return key is not None and key.status != "Active"


def _create_access_key(account_id: str, partition: str, access_key_id: str, headers: dict[str, str]) -> Any:
    if active() and _is_inactive(account_id, partition, access_key_id):
        raise access_control.CreateAccessKeyFailure(reason="InvalidId")
    return _original_create_access_key(account_id, partition, access_key_id, headers)


def _mark_account_as_visited(account_id: str, access_key: str, service: str, region: str) -> None:
    if active() and _is_inactive(account_id, get_partition(region), access_key):
        return
    _original_mark_account_as_visited(account_id, access_key, service, region)


def install() -> None:
    access_control.create_access_key = _create_access_key
    iam_models.mark_account_as_visited = _mark_account_as_visited
