"""Secrets Manager versions and staging labels as AWS keeps them: a read without a stage or version id returns the
AWSCURRENT version, a version never changes, label-less versions are deprecated (hidden from listings, pruned past
100), and a secret scheduled for deletion takes no new value or label and blocks a new secret of its name."""

from __future__ import annotations

import json
import time
from typing import Any

from moto.secretsmanager.exceptions import InvalidRequestException, ResourceExistsException
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend
from moto.secretsmanager.responses import SecretsManagerResponse

from local_account.emulator.fidelity import active

CURRENT = "AWSCURRENT"
# "Secrets Manager removes unlabeled versions when there are more than 100, but it does not remove versions created
# less than 24 hours ago." (Secrets Manager quotas)
MAX_VERSIONS = 100
DEPRECATED_MIN_AGE_SECONDS = 24 * 3600

_original_get_secret_value = SecretsManagerBackend.get_secret_value
_original_put_secret_value = SecretsManagerBackend.put_secret_value
_original_update_stage = SecretsManagerBackend.update_secret_version_stage
_original_versions_to_stages = FakeSecret._form_version_ids_to_stages
_original_list_version_ids = SecretsManagerResponse.list_secret_version_ids
_original_create_secret = SecretsManagerBackend.create_secret


def _refuse_if_scheduled_for_deletion(backend: SecretsManagerBackend, secret_id: str, operation: str) -> None:
    secret = backend.secrets.get(secret_id) if backend._is_valid_identifier(secret_id) else None
    if secret is not None and secret.is_deleted():
        raise InvalidRequestException(
            f"An error occurred (InvalidRequestException) when calling the {operation} operation: You can't perform "
            "this operation on the secret because it was marked for deletion."
        )


def _current_version_id(secret: FakeSecret) -> str | None:
    return next((v for v, version in secret.versions.items() if CURRENT in version["version_stages"]), None)


def _get_secret_value(
    self: SecretsManagerBackend, secret_id: str, version_id: str | None, version_stage: str | None
) -> dict[str, Any]:
    # "If you don't specify either a VersionStage or VersionId, Secrets Manager returns the AWSCURRENT version."
    # moto returns the version it last made current itself, which UpdateSecretVersionStage does not move.
    if active() and not version_id and not version_stage:
        version_stage = CURRENT
    return _original_get_secret_value(self, secret_id, version_id, version_stage)  # type: ignore[arg-type]


def _prune_deprecated(secret: FakeSecret) -> None:
    deprecated = [v for v, version in secret.versions.items() if not version["version_stages"]]
    old_enough = [
        v for v in deprecated if time.time() - float(secret.versions[v]["createdate"]) >= DEPRECATED_MIN_AGE_SECONDS
    ]
    old_enough.sort(key=lambda v: float(secret.versions[v]["createdate"]))
    while len(secret.versions) > MAX_VERSIONS and old_enough:
        del secret.versions[old_enough.pop(0)]


def _put_secret_value(
    self: SecretsManagerBackend,
    secret_id: str,
    secret_string: str,
    secret_binary: str,
    client_request_token: str,
    version_stages: list[str],
) -> Any:
    if not active():
        return _original_put_secret_value(
            self, secret_id, secret_string, secret_binary, client_request_token, version_stages
        )
    _refuse_if_scheduled_for_deletion(self, secret_id, "PutSecretValue")
    secret = self.secrets[secret_id] if self._is_valid_identifier(secret_id) else None
    existing = secret.versions.get(client_request_token) if isinstance(secret, FakeSecret) else None
    if isinstance(secret, FakeSecret) and existing is not None:
        # "If a version with this value already exists and the version SecretString and SecretBinary values are the
        # same ..., then the request is ignored"; different values fail: a version never changes. (moto lets an
        # AWSPENDING version be overwritten.)
        if existing.get("secret_string") == secret_string and existing.get("secret_binary") == secret_binary:
            return secret.to_short_dict(include_version_stages=True, version_id=client_request_token)
        raise ResourceExistsException(
            f"You can't use ClientRequestToken {client_request_token} because that value is already in use for a "
            f"version of secret {secret.arn}."
        )
    if isinstance(secret, FakeSecret):
        # moto moves AWSCURRENT away from its own notion of the current version; keep that notion true first.
        secret.default_version_id = _current_version_id(secret)
    result = _original_put_secret_value(
        self, secret_id, secret_string, secret_binary, client_request_token, version_stages
    )
    if isinstance(secret, FakeSecret):
        _prune_deprecated(secret)
    return result


def _update_secret_version_stage(
    self: SecretsManagerBackend,
    secret_id: str,
    version_stage: str,
    remove_from_version_id: str,
    move_to_version_id: str,
) -> tuple[str, str]:
    if not active():
        return _original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    _refuse_if_scheduled_for_deletion(self, secret_id, "UpdateSecretVersionStage")
    result = _original_update_stage(self, secret_id, version_stage, remove_from_version_id, move_to_version_id)
    secret = self.secrets[secret_id]
    if isinstance(secret, FakeSecret):
        secret.default_version_id = _current_version_id(secret)
    return result


def _versions_to_stages(self: FakeSecret) -> dict[str, Any]:
    # DescribeSecret/ListSecrets: "A list of the versions of the secret that have staging labels attached."
    stages: dict[str, Any] = _original_versions_to_stages(self)
    if active():
        return {version: labels for version, labels in stages.items() if labels}
    return stages


def _list_secret_version_ids(self: SecretsManagerResponse) -> str:
    # "By default, versions without staging labels aren't included." (IncludeDeprecated)
    body = _original_list_version_ids(self)
    if not active() or self._get_param("IncludeDeprecated", if_none=False):
        return body
    listed = json.loads(body)
    listed["Versions"] = [v for v in listed["Versions"] if v.get("VersionStages")]
    return json.dumps(listed)


def _create_secret(self: SecretsManagerBackend, name: str, *args: Any, **kwargs: Any) -> Any:
    # AWS answers InvalidRequestException ("You can't create this secret because a secret with this name is already
    # scheduled for deletion"), not ResourceExistsException as moto does.
    existing = self.secrets.get(name)
    if active() and isinstance(existing, FakeSecret) and existing.is_deleted():
        raise InvalidRequestException(
            "You can't create this secret because a secret with this name is already scheduled for deletion."
        )
    return _original_create_secret(self, name, *args, **kwargs)


def install() -> None:
    SecretsManagerBackend.create_secret = _create_secret  # type: ignore[method-assign]
    SecretsManagerBackend.get_secret_value = _get_secret_value  # type: ignore[method-assign]
    SecretsManagerBackend.put_secret_value = _put_secret_value  # type: ignore[method-assign]
    SecretsManagerBackend.update_secret_version_stage = _update_secret_version_stage  # type: ignore[method-assign]
    FakeSecret._form_version_ids_to_stages = _versions_to_stages  # type: ignore[method-assign]
    SecretsManagerResponse.list_secret_version_ids = _list_secret_version_ids  # type: ignore[method-assign]
