"""The moto account the handler tests run in: the administrator's view of it, the functions wired to it (the
integration and reliability fixtures build on it), fault injection into their AWS calls, and AWS behaviour moto
lacks."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import boto3
import botocore.loaders
import botocore.session
from botocore.exceptions import ClientError
from moto.iam.models import iam_backends
from moto.sns.models import sns_backends

from key_lifecycle.handlers.common import get_aws, reset_cold_start

if TYPE_CHECKING:
    import pytest
    from aws_lambda_powertools.utilities.typing import LambdaContext

    from key_lifecycle.gateways import Aws

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
GROUP = "temporary-users"
PATH = "/temporary/"
PREFIX = "temporary-iam-users/"
MANAGED_BY = "iam-key-lifecycle"
OWNER = "platform-team@example.com"
# moto loads AWS managed policies only on request (slowly); a customer policy stands in for IAMReadOnlyAccess.
READ_ONLY = f"arn:aws:iam::{ACCOUNT_ID}:policy/IAMReadOnlyAccess"


class FakeClock:
    """Stands in for time.monotonic/time.sleep in the key verifier, so a verification timeout takes no time."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class _Http:
    status_code = 200


class Faults:
    """Hooks into the functions' boto3 session: makes chosen operations fail as AWS would, records the
    operations called (with their parameters), and behaves like AWS where moto does not."""

    def __init__(self) -> None:
        self.failing: dict[str, str] = {}
        self.responses: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.issued_secrets: list[str] = []  # every secret access key the functions were given by IAM

    def fail(self, operation: str, code: str = "AccessDenied") -> None:
        self.failing[operation] = code

    def respond(self, operation: str, parsed: dict[str, Any]) -> None:
        """Answer an operation with this response instead of moto's."""
        self.responses[operation] = parsed

    def clear(self) -> None:
        self.failing.clear()
        self.responses.clear()

    def operations(self) -> list[str]:
        return [name for name, _ in self.calls]

    def params_of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == operation]

    def record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((model.name, dict(params)))

    def after_call(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "CreateAccessKey" and "AccessKey" in parsed:
            self.issued_secrets.append(parsed["AccessKey"]["SecretAccessKey"])

    def before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        operation = model.name
        if operation in self.failing:
            raise ClientError({"Error": {"Code": self.failing[operation], "Message": "injected"}}, operation)
        if operation in self.responses:
            return _Http(), self.responses[operation]
        if operation == "ListServiceSpecificCredentials":
            # Not implemented by moto 5.2.5 (it raises NotImplementedError); no test user holds any.
            return _Http(), {"ServiceSpecificCredentials": []}
        if operation == "DeleteUser":
            _refuse_like_aws(params["body"]["UserName"])
        return None


def _refuse_like_aws(user_name: str) -> None:
    """AWS refuses DeleteUser while the user holds any credential, policy or group membership; moto does not."""
    backend = iam_backends[ACCOUNT_ID]["aws"]
    user = backend.users.get(user_name)
    if user is None:
        return
    left = {
        "login profile": user.password is not None,
        "access keys": bool(user.access_keys),
        "MFA devices": bool(user.mfa_devices),
        "signing certificates": bool(user.signing_certificates),
        "SSH public keys": bool(user.ssh_public_keys),
        "inline policies": bool(user.policies),
        "attached policies": bool(user.managed_policies),
        "groups": bool(backend.get_groups_for_user(user_name)),
    }
    held = [what for what, present in left.items() if present]
    if held:
        raise ClientError(
            {"Error": {"Code": "DeleteConflict", "Message": "must remove " + ", ".join(held)}}, "DeleteUser"
        )


class Account:
    """The emulated account as its administrator sees it, plus a way to invoke the three handlers."""

    def __init__(self, context: LambdaContext, faults: Faults, clock: FakeClock) -> None:
        self.context = context
        self.faults = faults
        self.clock = clock
        self.iam = boto3.client("iam")
        self.sm = boto3.client("secretsmanager")
        self.sns = boto3.client("sns")
        self.boundary_arn = self.iam.create_policy(
            PolicyName="temporary-user-boundary",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": ["iam:Get*", "iam:List*"], "Resource": "*"}],
                }
            ),
        )["Policy"]["Arn"]
        read_only = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:Get*", "Resource": "*"}]}
        self.iam.create_policy(PolicyName="IAMReadOnlyAccess", PolicyDocument=json.dumps(read_only))
        self.iam.create_group(GroupName=GROUP)
        self.iam.attach_group_policy(GroupName=GROUP, PolicyArn=READ_ONLY)
        self.topic_arn = self.sns.create_topic(Name="iam-key-lifecycle")["TopicArn"]

    # Invoking ---------------------------------------------------------------------------------------------

    def invoke(self, function: str, event: object) -> dict[str, Any]:
        handler = importlib.import_module(f"key_lifecycle.handlers.{function}")
        result: dict[str, Any] = handler.lambda_handler(event, self.context)
        return result

    def create(self, user_name: str = "temporary-iam-user", **fields: Any) -> dict[str, Any]:
        event = {"action": "create_user", "user_name": user_name, "owner": OWNER, "ttl_days": 30, **fields}
        return self.invoke("create_keys", event)

    # Reading the account ----------------------------------------------------------------------------------

    def user(self, user_name: str) -> dict[str, Any] | None:
        for detail in self.iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]:
            if detail["UserName"] == user_name:
                return detail
        return None

    def tags(self, user_name: str) -> dict[str, str]:
        return {t["Key"]: t["Value"] for t in self.iam.list_user_tags(UserName=user_name)["Tags"]}

    def keys(self, user_name: str) -> dict[str, str]:
        """Access key id → status."""
        listed = self.iam.list_access_keys(UserName=user_name)["AccessKeyMetadata"]
        return {k["AccessKeyId"]: k["Status"] for k in listed}

    def secret(self, user_name: str) -> dict[str, Any] | None:
        listed = self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
        return next((s for s in listed if s["Name"] == PREFIX + user_name), None)

    def live_secret(self, user_name: str) -> dict[str, Any] | None:
        """The user's secret unless it is gone or in its recovery window (where every deletion puts it)."""
        secret = self.secret(user_name)
        return None if secret is None or secret.get("DeletedDate") else secret

    def stages(self, user_name: str) -> dict[str, list[str]]:
        """Access key id → stages of the secret version that holds it."""
        secret = self.secret(user_name) or {}
        return {v.split("-")[0]: sorted(st) for v, st in secret.get("SecretVersionsToStages", {}).items()}

    def secret_value(self, user_name: str, stage: str = "AWSCURRENT") -> dict[str, str]:
        value = self.sm.get_secret_value(SecretId=PREFIX + user_name, VersionStage=stage)
        record: dict[str, str] = json.loads(value["SecretString"])
        return record

    def all_secret_access_keys(self) -> set[str]:
        """Every secret access key ever stored, read back the way only a test may."""
        found = set()
        for secret in self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]:
            for version_id in secret.get("SecretVersionsToStages", {}):
                try:
                    value = self.sm.get_secret_value(SecretId=secret["ARN"], VersionId=version_id)
                except ClientError:
                    continue
                found.add(json.loads(value["SecretString"])["secret_access_key"])
        return found

    def use_key(self, access_key_id: str, secret_access_key: str) -> str:
        """What a consumer does with the key (the article's check); marks the key as used."""
        sts = boto3.client("sts", aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key)
        return str(sts.get_caller_identity()["Arn"])

    def state(self) -> dict[str, Any]:
        """Everything the functions could change, for before/after comparisons."""
        users = {}
        for detail in self.iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]:
            name = detail["UserName"]
            users[name] = {
                "path": detail["Path"],
                "tags": sorted((t["Key"], t["Value"]) for t in detail.get("Tags", [])),
                "groups": sorted(detail.get("GroupList", [])),
                "inline": sorted(p["PolicyName"] for p in detail.get("UserPolicyList", [])),
                "attached": sorted(p["PolicyArn"] for p in detail.get("AttachedManagedPolicies", [])),
                "keys": sorted(self.keys(name).items()),
            }
        secrets = {
            s["Name"]: {
                "stages": {v: sorted(st) for v, st in s.get("SecretVersionsToStages", {}).items()},
                "deleted": "DeletedDate" in s,
            }
            for s in self.sm.list_secrets(IncludePlannedDeletion=True)["SecretList"]
        }
        return {"users": users, "secrets": secrets}

    def notifications(self) -> list[dict[str, Any]]:
        """Every SNS message published so far, as moto's backend recorded it."""
        topic = sns_backends[ACCOUNT_ID][REGION].topics[self.topic_arn]
        return [
            {
                "subject": subject,
                "message": message,
                "attributes": {k: v.get("StringValue", v.get("Value")) for k, v in (attributes or {}).items()},
            }
            for _, message, subject, attributes, _ in topic.sent_notifications
        ]


# Wiring the functions to the account ------------------------------------------------------------------------

Hook = Callable[..., Any]

# Service models parsed once for the whole run: each test's fresh session (a cold start) would parse them again.
_SHARED_LOADER = botocore.loaders.create_loader()


def _session_with_shared_models() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _SHARED_LOADER)
    # boto3.Session is the class itself, whatever boto3.session.Session is patched to.
    return boto3.Session(botocore_session=core)


def use_dummy_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dummy credentials and no endpoint: every call is answered by moto in this process."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    # A Lambda role's credentials carry a session token; the key verification must not send it along.
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")


def wire_functions(
    monkeypatch: pytest.MonkeyPatch,
    account: Account,
    *,
    env: dict[str, str] | None = None,
    before_call: Iterable[Hook] = (),
    after_call: Iterable[Hook] = (),
) -> Aws:
    """A cold start of the functions against `account`: the stack's settings in the environment, and the faults'
    hooks on the functions' session. `before_call` hooks run before the faults' own, `after_call` hooks after."""
    monkeypatch.setenv("TEMPORARY_USER_GROUP", GROUP)
    monkeypatch.setenv("PERMISSIONS_BOUNDARY_ARN", account.boundary_arn)
    monkeypatch.setenv("NOTIFICATION_TOPIC_ARN", account.topic_arn)
    monkeypatch.setenv("VERIFY_TIMEOUT_SECONDS", "5")
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(boto3.session, "Session", _session_with_shared_models)
    reset_cold_start()
    aws = get_aws()
    # Registered on the session before any client exists, so every client the functions create (STS included)
    # has them.
    events = aws.session.events
    events.register("before-parameter-build", account.faults.record)
    for hook in before_call:
        events.register("before-call", hook)
    events.register("before-call", account.faults.before_call)
    events.register("after-call", account.faults.after_call)
    for hook in after_call:
        events.register("after-call", hook)
    aws.verifier.sleep, aws.verifier.clock = account.clock.sleep, account.clock.monotonic
    return aws
