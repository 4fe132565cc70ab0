"""The cdk.json context → typed config: defaults, and a bad, missing or unknown key failing synth by name."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

import stacks.config as config_module
from key_lifecycle.models.settings import Settings
from stacks.config import (
    REPO_ROOT,
    ConfigError,
    LifecycleConfig,
    SchedulesEnabled,
    cdk_json_context,
    load_config,
    settings_environment,
)


def context(**overrides: Any) -> dict[str, Any]:
    return {**cdk_json_context(), **overrides}


def error_of(values: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(values)
    return str(caught.value)


def test_cdk_json_defaults_load_as_documented() -> None:
    # Given cdk.json as shipped
    config = load_config(cdk_json_context())
    # Then the operator settings are the documented defaults
    assert config.model_dump() == {
        "managed_user_path": "/temporary/",
        "managed_by_tag_value": "iam-key-lifecycle",
        "secret_prefix": "temporary-iam-users/",
        "default_ttl_days": 7,
        "max_ttl_days": 365,
        "rotate_after_days": 90,
        "deactivate_after_days": 7,
        "delete_after_days": 7,
        "max_key_age_days": 120,
        "stale_after_days": 90,
        "secret_recovery_days": 7,
        "verify_timeout_seconds": 30.0,
        "allowed_managed_policies": ("IAMReadOnlyAccess",),
        "schedule_time_zone": "UTC",
        "reconcile_schedule": "rate(1 hour)",
        "rotate_schedule": "cron(0 9 ? * MON-FRI *)",
        "cleanup_schedule": "cron(0 6 * * ? *)",
        "schedules_enabled": {"reconcile": True, "rotate": True, "cleanup": True, "audit": True, "advise": True},
        "notification_email": None,
        "log_retention_days": 365,
        "dry_run": False,
        "reserved_concurrency": None,
        "secret_readers": (),
        "removable_group_path": None,
        "generate_bootstrap_version_rule": True,
        "out_of_band_key_response": "notify",
        "forewarn_days": (7, 1),
        "audit_schedule": "cron(0 7 ? * MON *)",
        "digest": "daily",
        "security_hub_findings": False,
        "create_cloudtrail_trail": False,
        "advise_schedule": "cron(0 8 ? * MON *)",
        "advise_window_days": 30,
        "advise_lookup_budget": 500,
        "organization": {
            "enabled": False,
            "organization_id": None,
            "target_ous": (),
            "exclude_accounts": (),
            "max_concurrency": 40,
            "tolerated_failure_percentage": 10,
        },
    }


def test_cdk_json_lists_every_setting_and_nothing_else() -> None:
    operator_keys = set(config_module.operator_context(cdk_json_context()))
    assert operator_keys == set(LifecycleConfig.model_fields)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("rotate_after_days", 0, "must be >= 1"),
        ("deactivate_after_days", -1, "must be >= 0"),
        ("secret_recovery_days", 3, "must be >= 7"),
        ("secret_recovery_days", 31, "must be <= 30"),
        ("advise_window_days", 0, "must be >= 1"),
        ("advise_window_days", 91, "must be <= 90"),  # LookupEvents keeps 90 days of history
        ("advise_lookup_budget", 0, "must be >= 1"),
        ("advise_lookup_budget", 1501, "must be <= 1500"),
        ("advise_schedule", "every monday", "must be an EventBridge Scheduler expression"),
        ("verify_timeout_seconds", 0, "must be > 0"),
        ("managed_user_path", "/", "must be an IAM path other than '/'"),
        ("managed_user_path", "/temp*/", "must be an IAM path other than '/'"),
        ("managed_user_path", "temporary", "must be an IAM path other than '/'"),
        ("managed_by_tag_value", "", "at least 1 character"),
        ("secret_prefix", "users*", "may contain only letters, digits and /_+=.@-"),
        ("allowed_managed_policies", ["Admin*"], "is not an AWS managed policy name"),
        ("allowed_managed_policies", "IAMReadOnlyAccess", "must be JSON"),
        ("schedule_time_zone", "Mars/Olympus_Mons", "must be an IANA time zone name"),
        ("rotate_schedule", "every weekday at 9", "must be an EventBridge Scheduler expression"),
        ("reconcile_schedule", "rate(2 hour)", "must be an EventBridge Scheduler expression"),
        ("notification_email", "platform-team", "must be an email address or null"),
        ("log_retention_days", 42, "must be one of the CloudWatch Logs retention periods"),
        ("reserved_concurrency", 0, "must be >= 1"),
        ("secret_readers", ["bob"], "is not an IAM role, user or account root ARN"),
        ("dry_run", "maybe", "valid boolean"),
        # Privileged group policies would let temporary users assume the CDK deploy roles or change the stack.
        (
            "allowed_managed_policies",
            ["IAMReadOnlyAccess", "AdministratorAccess"],
            "'AdministratorAccess' is privileged",
        ),
        ("allowed_managed_policies", ["PowerUserAccess"], "'PowerUserAccess' is privileged"),
        # `secret:<prefix>*` without the '/' also covers "temporary-iam-users-lookalike/...".
        ("secret_prefix", "temporary-iam-users", "must end with '/'"),
        # The key policy names the readers: another account's principal would decrypt every stored key.
        (
            "secret_readers",
            ["arn:aws:iam::111122223333:role/reader", "arn:aws:iam::444455556666:role/other"],
            "must all be in one account and partition",
        ),
        (
            "secret_readers",
            ["arn:aws:iam::111122223333:role/reader", "arn:aws-cn:iam::111122223333:role/reader"],
            "must all be in one account and partition",
        ),
        ("removable_group_path", "/", "must be null or an IAM path other than '/'"),
        ("secret_readers", ["arn:aws:iam::111122223333:root"] * 2, "lists a principal twice"),
        ("digest", "hourly", "'daily', 'weekly' or 'off'"),
    ],
)
def test_a_bad_value_names_its_key(key: str, value: Any, message: str) -> None:
    # When a context value is invalid
    error = error_of(context(**{key: value}))
    # Then the error names the cdk.json key and says what is wrong
    assert f'cdk.json context "{key}": ' in error
    assert message in error


def test_a_retired_setting_fails_synth_with_what_replaced_it() -> None:
    # Given an older cdk.json that still pins a Powertools layer version number
    error = error_of(context(powertools_layer_version=40))
    # Then synth stops naming the key and where the layer version comes from now (not "unknown setting"): a
    # silently ignored pin would deploy a layer other than the one the operator asked for
    assert 'cdk.json context "powertools_layer_version": no longer used' in error
    assert "requirements-dev.txt" in error and "remove the key" in error


def test_a_bad_nested_value_names_the_nested_key() -> None:
    error = error_of(context(schedules_enabled={"rotate": "sometimes"}))
    assert 'cdk.json context "schedules_enabled.rotate": ' in error


def test_a_missing_key_is_named() -> None:
    values = context()
    del values["rotate_after_days"]
    assert 'cdk.json context "rotate_after_days": missing' in error_of(values)


def test_an_unknown_key_is_refused_by_name() -> None:
    assert 'cdk.json context "rotate_after_day": unknown setting' in error_of(context(rotate_after_day=30))


def test_every_problem_is_reported_at_once() -> None:
    error = error_of(context(rotate_after_days=0, log_retention_days=42))
    assert '"rotate_after_days"' in error and '"log_retention_days"' in error


def test_inconsistent_settings_name_both_keys() -> None:
    assert '"default_ttl_days" must not exceed "max_ttl_days"' in error_of(context(default_ttl_days=400))
    assert '"max_key_age_days" must exceed "rotate_after_days"' in error_of(context(max_key_age_days=90))


def test_cdk_own_context_keys_are_left_to_the_cdk() -> None:
    config = load_config(
        context(
            **{
                "@aws-cdk/aws-iam:minimizePolicies": True,
                "aws:cdk:enable-path-metadata": True,
                "cli-telemetry": False,
                "acknowledged-issue-numbers": [1234],
            }
        )
    )
    assert config.rotate_after_days == 90


def test_command_line_strings_are_parsed() -> None:
    # Given values as `cdk synth -c key=value` passes them: all strings
    config = load_config(
        context(
            rotate_after_days="30",
            max_key_age_days="45",
            dry_run="true",
            secret_readers='["arn:aws:iam::123456789012:root"]',
            schedules_enabled='{"rotate": false}',
            reserved_concurrency="null",
            notification_email="null",
            generate_bootstrap_version_rule="false",
        )
    )
    # Then they are typed like their cdk.json counterparts
    assert (config.rotate_after_days, config.max_key_age_days, config.dry_run) == (30, 45, True)
    assert config.secret_readers == ("arn:aws:iam::123456789012:root",)
    assert config.schedules_enabled == SchedulesEnabled(reconcile=True, rotate=False, cleanup=True)
    assert (config.reserved_concurrency, config.notification_email) == (None, None)
    assert config.generate_bootstrap_version_rule is False


def test_a_rule_of_the_engine_settings_fails_synth_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an engine whose settings model is stricter than the stack's config
    class StricterSettings(Settings):
        rotate_after_days: int = Field(default=90, ge=1, le=60)

    monkeypatch.setattr(config_module, "Settings", StricterSettings)
    # When the context passes the stack's own checks but not the engine's
    error = error_of(context())
    # Then synth fails naming the context key, not the environment variable
    assert 'cdk.json context "rotate_after_days": must be <= 60' in error


def test_settings_environment_uses_the_engine_variable_names() -> None:
    environment = settings_environment({"managed_user_path": "/temporary/", "dry_run": "false"})
    assert environment == {"MANAGED_USER_PATH": "/temporary/", "DRY_RUN": "false"}


def test_settings_environment_refuses_a_setting_the_engine_does_not_read() -> None:
    with pytest.raises(ConfigError, match="no field 'lock_table'"):
        settings_environment({"lock_table": "table"})


@pytest.mark.xdist_group("synth")
def test_cdk_cli_synth_fails_on_a_bad_context_value(tmp_path: Path) -> None:
    # Given the real CDK CLI, as `make synth` runs it
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }
    # When synthesizing with an invalid override
    completed = subprocess.run(
        [
            "npx",
            "--no-install",
            "cdk",
            "synth",
            "--quiet",
            "--no-notices",
            "--output",
            str(tmp_path / "cdk.out"),
            "-c",
            "rotate_after_days=0",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # Then it fails, and says which key and why
    assert completed.returncode != 0
    assert 'cdk.json context "rotate_after_days": must be >= 1' in completed.stdout + completed.stderr
    assert not list((tmp_path / "cdk.out").glob("*.template.json"))


ORGANIZATION_ON = {"enabled": True, "organization_id": "o-a1b2c3d4e5"}


@pytest.mark.parametrize(
    ("values", "key", "message"),
    [
        ({"target_ous": ["Workloads"]}, "organization.target_ous", "is not an OU id"),
        ({"target_ous": ["ou-ab12"]}, "organization.target_ous", "is not an OU id"),
        ({"target_ous": ["ou-ab12-cd34ef56", "ou-ab12-cd34ef56"]}, "organization.target_ous", "lists an OU twice"),
        ({"target_ous": "ou-ab12-cd34ef56"}, "organization.target_ous", "valid tuple"),
        ({"exclude_accounts": ["12345"]}, "organization.exclude_accounts", "is not a 12-digit account id"),
        ({"exclude_accounts": [111122223333]}, "organization.exclude_accounts.0", "valid string"),
        ({"exclude_accounts": ["111122223333"] * 2}, "organization.exclude_accounts", "lists an account twice"),
        ({"max_concurrency": 0}, "organization.max_concurrency", "must be >= 1"),
        ({"max_concurrency": 10_001}, "organization.max_concurrency", "must be <= 10000"),
        ({"tolerated_failure_percentage": -1}, "organization.tolerated_failure_percentage", "must be >= 0"),
        ({"tolerated_failure_percentage": 101}, "organization.tolerated_failure_percentage", "must be <= 100"),
        ({"organization_id": "org-1"}, "organization.organization_id", "must be an organization id"),
        ({"organization_id": None}, "organization", '"organization_id" is required when organization mode is on'),
        ({"enabled": "sometimes"}, "organization.enabled", "valid boolean"),
        ({"target_ou": []}, "organization.target_ou", "unknown key"),
    ],
)
def test_a_bad_organization_value_names_its_key(values: dict[str, Any], key: str, message: str) -> None:
    # When organization mode is configured with one bad value
    error = error_of(context(organization={**ORGANIZATION_ON, **values}))
    # Then synth stops naming the nested key and what is wrong
    assert f'cdk.json context "{key}": ' in error
    assert message in error


def test_organization_mode_defaults_to_off_and_to_every_account() -> None:
    # Given organization mode switched on with only the organization id
    config = load_config(context(organization=ORGANIZATION_ON)).organization
    # Then every account is a target (the root), none excluded, at the documented concurrency and tolerance
    assert (config.target_ous, config.exclude_accounts) == ((), ())
    assert (config.max_concurrency, config.tolerated_failure_percentage) == (40, 10)
    # And cdk.json ships it off
    assert load_config(context()).organization.enabled is False


def test_organization_from_the_command_line_is_json() -> None:
    config = load_config(context(organization='{"enabled": true, "organization_id": "o-a1b2c3d4e5"}'))
    assert config.organization.enabled is True


@pytest.mark.parametrize(("digest", "expression"), [("daily", "cron(0 8 * * ? *)"), ("weekly", "cron(0 8 ? * MON *)")])
def test_the_digest_runs_daily_or_weekly_or_not_at_all(digest: str, expression: str) -> None:
    assert load_config(context(digest=digest)).digest_schedule == expression
    assert load_config(context(digest="off")).digest_schedule is None
