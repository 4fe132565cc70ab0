"""Secrets Manager version behaviours the functions and their consumers rely on, where moto differs from AWS."""

from __future__ import annotations

from typing import Any

from moto.secretsmanager.exceptions import InvalidRequestException
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

from local_account.emulator.fidelity import active

CURRENT = "AWSCURRENT"

_original_get_secret_value = SecretsManagerBackend.get_secret_value
_original_update_secret_version_stage = SecretsManagerBackend.update_secret_version_stage
_original_put_secret_value = SecretsManagerBackend.put_secret_value


def _get_secret_value(self: SecretsManagerBackend, secret_id: str, version_id: str, version_stage: str) -> Any:
    # "If you don't specify either a VersionStage or VersionId, then Secrets Manager returns the AWSCURRENT
    # version." (GetSecretValue, API reference). moto returns its own default version instead, which
    # UpdateSecretVersionStage does not move: after a rotation a consumer reading without a stage got the
    # replaced key.
    if active() and not version_id and not version_stage:
        version_stage = CURRENT
    return _original_get_secret_value(self, secret_id, version_id, version_stage)


def _follow_current(self: SecretsManagerBackend, secret_id: str) -> None:
    # moto's default version (used by DescribeSecret, ListSecrets and replies) tracks AWSCURRENT, as AWS's does.
    secret = self.secrets.get(secret_id)
    versions = getattr(secret, "versions", None) or {}
    for version_id, version in versions.items():
        if CURRENT in version["version_stages"]:
            secret.default_version_id = version_id  # type: ignore[union-attr]
            return


def _update_secret_version_stage(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
    result = _original_update_secret_version_stage(self, secret_id, *args, **kwargs)
    if active():
        _follow_current(self, secret_id)
    return result


def _put_secret_value(self: SecretsManagerBackend, secret_id: str, *args: Any, **kwargs: Any) -> Any:
    result = _original_put_secret_value(self, secret_id, *args, **kwargs)
    if active():
        _follow_current(self, secret_id)
    return result


_original_create_secret = SecretsManagerBackend.create_secret
_original_version_ids_to_stages = FakeSecret._form_version_ids_to_stages


def _create_secret(self: SecretsManagerBackend, name: str, *args: Any, **kwargs: Any) -> Any:
    # AWS answers InvalidRequestException ("You can't create this secret because a secret with this name is already
    # scheduled for deletion"), not ResourceExistsException as moto does.
    existing = self.secrets.get(name)
    if active() and isinstance(existing, FakeSecret) and existing.is_deleted():
        raise InvalidRequestException(
            "You can't create this secret because a secret with this name is already scheduled for deletion."
        )
    return _original_create_secret(self, name, *args, **kwargs)


def _version_ids_to_stages(self: FakeSecret) -> dict[str, Any]:
    # DescribeSecret's VersionIdsToStages and ListSecrets' SecretVersionsToStages list "the versions of the secret
    # that have staging labels attached"; a version without labels is deprecated and left out.
    stages = _original_version_ids_to_stages(self)
    if not active():
        return stages
    return {version_id: labels for version_id, labels in stages.items() if labels}


def install() -> None:
    SecretsManagerBackend.create_secret = _create_secret  # type: ignore[method-assign]
    FakeSecret._form_version_ids_to_stages = _version_ids_to_stages  # type: ignore[method-assign]
    SecretsManagerBackend.get_secret_value = _get_secret_value  # type: ignore[method-assign]
    SecretsManagerBackend.update_secret_version_stage = _update_secret_version_stage  # type: ignore[method-assign]
    SecretsManagerBackend.put_secret_value = _put_secret_value  # type: ignore[method-assign]
