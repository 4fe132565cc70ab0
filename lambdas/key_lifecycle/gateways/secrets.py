"""Secrets Manager: one secret per managed user, one version per access key, labelled by stage."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from key_lifecycle.gateways.errors import AwsError, call, paginate
from key_lifecycle.models.constants import STAGE_CURRENT, STAGE_PENDING
from key_lifecycle.models.snapshot import SecretState, SecretVersionState

SecretOrigin = Literal["existing", "created", "restored"]


@dataclass(frozen=True)
class SecretHandle:
    name: str
    arn: str
    origin: SecretOrigin  # what this call had to do for the secret to exist (rollback undoes exactly that)


@dataclass(frozen=True)
class StoredKey:
    """A key record read back from a secret version. The secret is kept out of repr()."""

    version_id: str
    access_key_id: str
    user_name: str
    secret_access_key: str = field(repr=False)


class MalformedSecret(ValueError):
    """A secret version does not hold a key record (edited by hand?). The message never includes the value."""


class UnsafeSecret(ValueError):
    """A secret found under a user's name that others could read, or that Secrets Manager would change behind the
    stack's back: no key is ever written into it. The message names what is wrong, never a value."""


# A refused secret that was in its recovery window goes back into one (the shortest Secrets Manager allows).
_RECOVERY_AGAIN_DAYS = 7


def _unsafe(name: str, problems: list[str]) -> UnsafeSecret:
    return UnsafeSecret(
        f"secret {name} is not one the stack would create ({'; '.join(problems)}); no key is written into it: "
        "delete it (or correct it) and try again"
    )


def _same_key(found: str | None, expected: str) -> bool:
    # DescribeSecret gives the key as the creator named it: the stack names it by ARN; its key id is the same key.
    return found is not None and (found == expected or expected.endswith(f":key/{found}"))


def key_record(access_key_id: str, secret_access_key: str, user_name: str, created: str) -> str:
    """The JSON a secret version holds; consumers read `access_key_id` and `secret_access_key` from it."""
    return json.dumps(
        {
            "access_key_id": access_key_id,
            "secret_access_key": secret_access_key,
            "user_name": user_name,
            "created": created,
        }
    )


def _secret_state(entry: dict[str, Any], stages: dict[str, list[str]]) -> SecretState:
    return SecretState(
        name=entry["Name"],
        arn=entry["ARN"],
        versions=tuple(
            SecretVersionState(version_id=version_id, stages=tuple(labels))
            for version_id, labels in sorted(stages.items())
        ),
        deleted_date=entry.get("DeletedDate"),
    )


class SecretsGateway:
    def __init__(self, client: Any) -> None:
        self._client = client

    def list_secrets(self, prefix: str) -> Iterator[SecretState]:
        """Every secret whose name starts with the prefix, including those scheduled for deletion, with
        their version ids and stages (no values)."""
        for secret in paginate(
            self._client,
            "ListSecrets",
            "SecretList",
            Filters=[{"Key": "name", "Values": [prefix]}],
            IncludePlannedDeletion=True,
        ):
            # The name filter is a case-insensitive prefix match; our names are case-sensitive.
            if secret.get("Name", "").startswith(prefix):
                yield _secret_state(secret, secret.get("SecretVersionsToStages", {}))

    def state(self, name: str) -> SecretState | None:
        """The secret's version ids and stages (DescribeSecret, no value); None if it does not exist."""
        described = self.describe(name)
        if described is None:
            return None
        return _secret_state(described, described.get("VersionIdsToStages", {}))

    def describe(self, name: str) -> dict[str, Any] | None:
        try:
            return call(self._client, "DescribeSecret", SecretId=name)
        except AwsError as exc:
            if exc.gone:
                return None
            raise

    def stages(self, name: str) -> dict[str, list[str]]:
        described = self.describe(name) or {}
        stages: dict[str, list[str]] = described.get("VersionIdsToStages", {})
        return stages

    def ensure(
        self, name: str, *, description: str, tags: dict[str, str], kms_key_id: str | None = None
    ) -> SecretHandle:
        """The secret exists and is not scheduled for deletion afterwards: created without a value if it was
        missing, restored if it was in its recovery window (a re-created user gets a new version in it)."""
        return self._ensure(name, description=description, tags=tags, kms_key_id=kms_key_id, again=False)

    def _ensure(
        self, name: str, *, description: str, tags: dict[str, str], kms_key_id: str | None, again: bool
    ) -> SecretHandle:
        described = self.describe(name)
        if described is None:
            params: dict[str, Any] = {
                "Name": name,
                "Description": description,
                "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
            }
            if kms_key_id:
                params["KmsKeyId"] = kms_key_id
            try:
                created = call(self._client, "CreateSecret", **params)
            except AwsError as exc:
                # Made meanwhile (ResourceExistsException) or scheduled for deletion meanwhile (AWS answers
                # InvalidRequestException): look again, once.
                if exc.code not in ("ResourceExistsException", "InvalidRequestException") or again:
                    raise
                return self._ensure(name, description=description, tags=tags, kms_key_id=kms_key_id, again=True)
            return SecretHandle(name=name, arn=created["ARN"], origin="created")
        # A secret the stack did not create may have been prepared by someone with Secrets Manager rights only.
        self._refuse_unsafe(name, described, kms_key_id)
        if described.get("DeletedDate"):
            call(self._client, "RestoreSecret", SecretId=name)
            try:
                self._refuse_shared(name)  # a secret in its recovery window answers no GetResourcePolicy
            except UnsafeSecret:
                call(self._client, "DeleteSecret", SecretId=name, RecoveryWindowInDays=_RECOVERY_AGAIN_DAYS)
                raise
            return SecretHandle(name=name, arn=described["ARN"], origin="restored")
        self._refuse_shared(name)
        return SecretHandle(name=name, arn=described["ARN"], origin="existing")

    def _refuse_unsafe(self, name: str, described: dict[str, Any], kms_key_id: str | None) -> None:
        """Refuse a secret encrypted with another key than the stack's (the AWS managed key aws/secretsmanager is
        usable by every principal of the account through Secrets Manager), rotation (a Lambda would rewrite it) or
        replicas (copies under other keys); `_refuse_shared`, one with a resource policy (which may name others)."""
        problems = []
        found = described.get("KmsKeyId")
        if kms_key_id and not _same_key(found, kms_key_id):
            problems.append(
                f"it is encrypted with {found or 'the AWS managed key aws/secretsmanager'}, not the stack's key"
            )
        if described.get("RotationEnabled"):
            problems.append("rotation is enabled on it")
        regions = [str(r.get("Region")) for r in described.get("ReplicationStatus") or []]
        if regions:
            problems.append(f"it is replicated to {', '.join(regions)}")
        if problems:
            raise _unsafe(name, problems)

    def _refuse_shared(self, name: str) -> None:
        # DescribeSecret says nothing of a resource policy; GetResourcePolicy answers without ResourcePolicy if none.
        if call(self._client, "GetResourcePolicy", SecretId=name).get("ResourcePolicy"):
            raise _unsafe(name, ["it has a resource policy"])

    def put_pending_version(self, name: str, version_id: str, secret_string: str) -> None:
        call(
            self._client,
            "PutSecretValue",
            SecretId=name,
            ClientRequestToken=version_id,
            SecretString=secret_string,
            VersionStages=[STAGE_PENDING],
        )

    def pending_key(self, name: str, access_key_id: str) -> StoredKey | None:
        """The key record in the AWSPENDING version that holds this access key, or None if there is none."""
        version_id = next(
            (
                v
                for v, stages in self.stages(name).items()
                if v.startswith(f"{access_key_id}-") and STAGE_PENDING in stages
            ),
            None,
        )
        if version_id is None:
            return None
        value = call(self._client, "GetSecretValue", SecretId=name, VersionId=version_id)
        try:
            record = json.loads(value["SecretString"])
            stored = StoredKey(
                version_id=version_id,
                access_key_id=str(record["access_key_id"]),
                user_name=str(record["user_name"]),
                secret_access_key=str(record["secret_access_key"]),
            )
        except (KeyError, TypeError, ValueError):
            raise MalformedSecret(f"secret {name} version {version_id} does not hold a key record") from None
        if stored.access_key_id != access_key_id:
            raise MalformedSecret(f"secret {name} version {version_id} holds another access key")
        return stored

    def promote(self, name: str, version_id: str) -> str | None:
        """Make the version AWSCURRENT (AWS labels the old current AWSPREVIOUS), then drop its AWSPENDING.
        Returns the version that was current before, if this call moved the label away from it."""
        stages = self.stages(name)
        holder = next((v for v, labels in stages.items() if STAGE_CURRENT in labels), None)
        moved_from: str | None = None
        if holder != version_id:
            params: dict[str, Any] = {"SecretId": name, "VersionStage": STAGE_CURRENT, "MoveToVersionId": version_id}
            if holder is not None:
                params["RemoveFromVersionId"] = holder
                moved_from = holder
            call(self._client, "UpdateSecretVersionStage", **params)
        if STAGE_PENDING in stages.get(version_id, []):
            call(
                self._client,
                "UpdateSecretVersionStage",
                SecretId=name,
                VersionStage=STAGE_PENDING,
                RemoveFromVersionId=version_id,
            )
        return moved_from

    def retract_version(self, name: str, version_id: str, *, current_back_to: str | None) -> None:
        """Undo a version this call added: give AWSCURRENT back to the version that had it, drop AWSPENDING.
        A label-less version is what Secrets Manager treats as deprecated."""
        labels = self.stages(name).get(version_id, [])
        if STAGE_CURRENT in labels and current_back_to is not None:
            call(
                self._client,
                "UpdateSecretVersionStage",
                SecretId=name,
                VersionStage=STAGE_CURRENT,
                MoveToVersionId=current_back_to,
                RemoveFromVersionId=version_id,
            )
        if STAGE_PENDING in labels:
            call(
                self._client,
                "UpdateSecretVersionStage",
                SecretId=name,
                VersionStage=STAGE_PENDING,
                RemoveFromVersionId=version_id,
            )

    def schedule_deletion(self, name: str, recovery_days: int) -> bool:
        """Delete with a recovery window. False if the secret is already gone or already scheduled."""
        try:
            call(self._client, "DeleteSecret", SecretId=name, RecoveryWindowInDays=recovery_days)
        except AwsError as exc:
            if exc.gone:
                return False
            if exc.code == "InvalidRequestException":
                described = self.describe(name)
                if described is None or described.get("DeletedDate"):
                    return False
            raise
        return True
