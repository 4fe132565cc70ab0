"""Synthesizing the app in process, and reading its template the way a reviewer does: tokens rendered as ${...},
statements normalized."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from key_lifecycle.models.constants import STACK_NAME

if TYPE_CHECKING:
    from aws_cdk import App

USERS = "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/temporary/*"
SECRETS = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:temporary-iam-users/*"
STACK_ROLES = "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/iam-key-lifecycle/*"
FUNCTIONS = {
    "create_keys": "CreateKeys",
    "rotate_keys": "RotateKeys",
    "cleanup_users": "CleanupUsers",
    "detect_changes": "DetectChanges",
}


@dataclass(frozen=True)
class Synth:
    """One synthesis: the template, the validation report (cdk-nag) and the construct metadata."""

    template: dict[str, Any]
    report: dict[str, Any]
    metadata: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.template["Resources"])

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {key: value for key, value in self.resources.items() if value["Type"] == resource_type}

    def logical_id(self, resource_type: str, prefix: str) -> str:
        """The one resource of this type whose logical id is `prefix` + CDK's hash suffix."""
        matches = [key for key in self.of_type(resource_type) if key.startswith(prefix) and len(key) == len(prefix) + 8]
        assert len(matches) == 1, f"expected one {resource_type} {prefix}*, found {matches}"
        return matches[0]

    def properties(self, resource_type: str, prefix: str) -> dict[str, Any]:
        return dict(self.resources[self.logical_id(resource_type, prefix)]["Properties"])

    def role_policy_statements(self, role_prefix: str) -> list[dict[str, Any]]:
        """Every statement of every AWS::IAM::Policy attached to the role, rendered and normalized."""
        role_id = self.logical_id("AWS::IAM::Role", role_prefix)
        statements = []
        for policy in self.of_type("AWS::IAM::Policy").values():
            if {"Ref": role_id} in policy["Properties"]["Roles"]:
                statements += [normalize(s) for s in policy["Properties"]["PolicyDocument"]["Statement"]]
        role = self.resources[role_id]["Properties"]
        assert "Policies" not in role and "ManagedPolicyArns" not in role, "permissions must live in one policy"
        return statements

    def function_statements(self, function: str) -> list[dict[str, Any]]:
        return self.role_policy_statements(f"Functions{FUNCTIONS[function]}Role")

    def ref(self, resource_type: str, prefix: str) -> str:
        return "${" + self.logical_id(resource_type, prefix) + "}"

    def arn(self, resource_type: str, prefix: str) -> str:
        return "${" + self.logical_id(resource_type, prefix) + ".Arn}"

    @property
    def violations(self) -> list[dict[str, Any]]:
        return [v for plugin in self.report.get("pluginReports", []) for v in plugin.get("violations", [])]

    @property
    def suppressed(self) -> list[dict[str, Any]]:
        return [v for plugin in self.report.get("pluginReports", []) for v in plugin.get("suppressedViolations", [])]

    @property
    def acknowledgements(self) -> list[tuple[str, str, str]]:
        """(construct path, acknowledged id, reason) of every acknowledgement recorded in the assembly."""
        found = []
        for path, entries in self.metadata.items():
            for entry in entries:
                if entry["type"] == "aws:cdk:acknowledged-rules":
                    found += [(path.lstrip("/"), rule, reason) for rule, reason in entry["data"].items()]
        return found


def synthesize(app: App, outdir: Path) -> Synth:
    """Synthesize the app; cdk-nag findings fail the synth, but the template and the report are written first."""
    try:
        app.synth()
    except RuntimeError as exc:
        if "ValidationFailed" not in str(exc):
            raise
    stacks = {path.name.removesuffix(".template.json") for path in outdir.glob("*.template.json")}
    name = STACK_NAME if STACK_NAME in stacks else sorted(stacks)[0]
    return Synth(
        template=json.loads((outdir / f"{name}.template.json").read_text()),
        report=json.loads((outdir / "validation-report.json").read_text()),
        metadata=json.loads((outdir / f"{name}.metadata.json").read_text()),
    )


def use_cli_environment() -> None:
    """What the CDK CLI gives the app (its region), unless the environment says otherwise. Before the first aws_cdk
    import: the jsii runtime is started with this environment."""
    os.environ.setdefault("CDK_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def synthesize_app(context: dict[str, Any], outdir: Path) -> Synth:
    """The app of cdk.json's context with `context` over it, synthesized into `outdir` (in the CLI's region)."""
    use_cli_environment()
    from app import build_app  # starts the jsii runtime: only for the tests that synthesize
    from stacks.config import cdk_json_context

    return synthesize(build_app({**cdk_json_context(), **context}, outdir=str(outdir)), outdir)


def render(value: Any) -> Any:
    """CloudFormation intrinsics as readable strings: Ref → ${Id}, GetAtt → ${Id.Attr}, Join → concatenation."""
    if isinstance(value, list):
        return [render(item) for item in value]
    if isinstance(value, dict):
        if set(value) == {"Ref"}:
            return "${" + value["Ref"] + "}"
        if set(value) == {"Fn::GetAtt"}:
            return "${" + ".".join(value["Fn::GetAtt"]) + "}"
        if set(value) == {"Fn::Join"}:
            separator, parts = value["Fn::Join"]
            return separator.join(str(render(part)) for part in parts)
        return {key: render(item) for key, item in value.items()}
    return value


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def normalize(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement rendered, with Action and Resource always lists (sorted) and Condition always present;
    NotResource, only when the statement has one."""
    rendered = render(statement)
    normalized = {
        "Sid": rendered.get("Sid"),
        "Effect": rendered["Effect"],
        "Action": sorted(_as_list(rendered["Action"])),
        "Resource": sorted(_as_list(rendered.get("Resource", []))),
        "Condition": rendered.get("Condition", {}),
    }
    if "NotResource" in rendered:
        normalized["NotResource"] = sorted(_as_list(rendered["NotResource"]))
    return normalized


def by_sid(statements: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    sids = [s["Sid"] for s in statements if s["Sid"]]
    assert len(sids) == len(set(sids)), f"duplicate Sids: {sids}"
    return {s["Sid"]: s for s in statements if s["Sid"]}


# A second configuration, far from the defaults, synthesized once: what must change with the context does.
VARIANT_CONTEXT: dict[str, Any] = {
    "managed_user_path": "/contractors/",
    "managed_by_tag_value": "platform-team",
    "secret_prefix": "contractor-keys/",
    "allowed_managed_policies": ["ReadOnlyAccess", "job-function/ViewOnlyAccess"],
    "schedule_time_zone": "Europe/Berlin",
    "schedules_enabled": {"reconcile": False, "rotate": True, "cleanup": False},
    "notification_email": "security@example.com",
    "log_retention_days": 30,
    "dry_run": True,
    "reserved_concurrency": 2,
    "secret_readers": ["arn:aws:iam::123456789012:role/ci-deployer"],
    "removable_group_path": "/contractor-groups/",
    "generate_bootstrap_version_rule": False,
    "digest": "off",
    "security_hub_findings": True,
}


# Organization mode on, synthesized once: every target account (the root, a deploy-time parameter), one excluded.
ORGANIZATION_ID = "o-a1b2c3d4e5"
ORGANIZATION_CONTEXT: dict[str, Any] = {
    "organization": {
        "enabled": True,
        "organization_id": ORGANIZATION_ID,
        "target_ous": [],
        "exclude_accounts": ["111122223333"],
        "max_concurrency": 25,
        "tolerated_failure_percentage": 5,
    },
}
