"""Settings read from the environment: documented defaults, conversions, and errors naming the variable."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from key_lifecycle.models.settings import ENVIRONMENT, Settings, SettingsError


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    # Given no setting in the environment / When read / Then the defaults of the issue apply
    settings = Settings.from_env({})
    assert settings.managed_user_path == "/temporary/"
    assert settings.managed_by_tag_value == "iam-key-lifecycle"
    assert settings.secret_prefix == "temporary-iam-users/"
    assert (settings.default_ttl_days, settings.max_ttl_days) == (7, 365)
    assert (settings.rotate_after_days, settings.deactivate_after_days, settings.delete_after_days) == (90, 7, 7)
    assert (settings.max_key_age_days, settings.stale_after_days, settings.secret_recovery_days) == (120, 90, 7)
    assert settings.verify_timeout_seconds == 30.0
    assert settings.dry_run is False
    assert settings.permissions_boundary_arn is None and settings.notification_topic_arn is None


def test_every_variable_is_read_and_converted() -> None:
    # Given a value for every documented variable
    environ = {
        "MANAGED_USER_PATH": "/contractors/",
        "MANAGED_BY_TAG_VALUE": "prod-keys",
        "SECRET_PREFIX": "contractors/",
        "PERMISSIONS_BOUNDARY_ARN": "arn:aws:iam::123456789012:policy/boundary",
        "TEMPORARY_USER_GROUP": "temporary-readonly",
        "REMOVABLE_GROUP_PATH": "/removable/",
        "DEFAULT_TTL_DAYS": "14",
        "MAX_TTL_DAYS": "30",
        "ROTATE_AFTER_DAYS": "60",
        "DEACTIVATE_AFTER_DAYS": "0",
        "DELETE_AFTER_DAYS": "3",
        "MAX_KEY_AGE_DAYS": "75",
        "STALE_AFTER_DAYS": "45",
        "SECRET_RECOVERY_DAYS": "30",
        "VERIFY_TIMEOUT_SECONDS": "12.5",
        "DRY_RUN": "true",
        "NOTIFICATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:keys",
        "SECRET_KMS_KEY_ID": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "OUT_OF_BAND_KEY_RESPONSE": "deactivate",
        "FOREWARN_DAYS": "1,14,7",
        "EVENT_BUS_NAME": "default",
        "STACK_ROLE_PATH": "/keys-stack/",
        "LOCK_TABLE_NAME": "user-locks",
        "ADVISE_WINDOW_DAYS": "60",
        "ADVISE_LOOKUP_BUDGET": "120",
        "SECURITY_HUB_FINDINGS": "true",
    }
    assert set(environ) == set(ENVIRONMENT)
    # When read
    settings = Settings.from_env(environ)
    # Then each field holds the converted value
    assert settings.model_dump() == {
        "managed_user_path": "/contractors/",
        "managed_by_tag_value": "prod-keys",
        "secret_prefix": "contractors/",
        "permissions_boundary_arn": "arn:aws:iam::123456789012:policy/boundary",
        "temporary_user_group": "temporary-readonly",
        "removable_group_path": "/removable/",
        "default_ttl_days": 14,
        "max_ttl_days": 30,
        "rotate_after_days": 60,
        "deactivate_after_days": 0,
        "delete_after_days": 3,
        "max_key_age_days": 75,
        "stale_after_days": 45,
        "secret_recovery_days": 30,
        "verify_timeout_seconds": 12.5,
        "dry_run": True,
        "notification_topic_arn": "arn:aws:sns:us-east-1:123456789012:keys",
        "secret_kms_key_id": "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "out_of_band_key_response": "deactivate",
        "forewarn_days": (14, 7, 1),
        "event_bus_name": "default",
        "stack_role_path": "/keys-stack/",
        "lock_table_name": "user-locks",
        "advise_window_days": 60,
        "advise_lookup_budget": 120,
        "security_hub_findings": True,
    }


def test_the_environment_map_covers_every_field() -> None:
    assert sorted(ENVIRONMENT.values()) == sorted(Settings.model_fields)


def test_empty_optional_arns_mean_not_configured() -> None:
    settings = Settings.from_env(
        {"NOTIFICATION_TOPIC_ARN": "", "PERMISSIONS_BOUNDARY_ARN": "", "TEMPORARY_USER_GROUP": ""}
    )
    assert (settings.notification_topic_arn, settings.permissions_boundary_arn, settings.temporary_user_group) == (
        None,
        None,
        None,
    )


def test_variables_outside_the_map_are_ignored() -> None:
    assert Settings.from_env({"AWS_REGION": "us-east-1", "PATH": "/usr/bin"}) == Settings()


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"ROTATE_AFTER_DAYS": "ninety"}, "ROTATE_AFTER_DAYS"),
        ({"ROTATE_AFTER_DAYS": "0"}, "ROTATE_AFTER_DAYS"),
        ({"DEFAULT_TTL_DAYS": "-1"}, "DEFAULT_TTL_DAYS"),
        ({"DELETE_AFTER_DAYS": "-1"}, "DELETE_AFTER_DAYS"),
        ({"SECRET_RECOVERY_DAYS": "6"}, "SECRET_RECOVERY_DAYS"),
        ({"SECRET_RECOVERY_DAYS": "31"}, "SECRET_RECOVERY_DAYS"),
        ({"VERIFY_TIMEOUT_SECONDS": "0"}, "VERIFY_TIMEOUT_SECONDS"),
        ({"VERIFY_TIMEOUT_SECONDS": "601"}, "VERIFY_TIMEOUT_SECONDS"),
        ({"DRY_RUN": "perhaps"}, "DRY_RUN"),
        ({"MANAGED_USER_PATH": "/"}, "MANAGED_USER_PATH"),
        ({"MANAGED_USER_PATH": "temporary"}, "MANAGED_USER_PATH"),
        ({"MANAGED_USER_PATH": "/temporary"}, "MANAGED_USER_PATH"),
        ({"MANAGED_BY_TAG_VALUE": ""}, "MANAGED_BY_TAG_VALUE"),
        ({"SECRET_PREFIX": ""}, "SECRET_PREFIX"),
        ({"DEFAULT_TTL_DAYS": "30", "MAX_TTL_DAYS": "7"}, "DEFAULT_TTL_DAYS must not exceed MAX_TTL_DAYS"),
        ({"ROTATE_AFTER_DAYS": "120"}, "MAX_KEY_AGE_DAYS must exceed ROTATE_AFTER_DAYS"),
    ],
)
def test_a_bad_value_fails_with_a_message_naming_the_variable(environ: dict[str, str], named: str) -> None:
    # Given a bad value / When read / Then SettingsError names the variable
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(environ)


def test_every_bad_variable_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"STALE_AFTER_DAYS": "x", "MAX_TTL_DAYS": "y"})
    assert "STALE_AFTER_DAYS" in str(caught.value) and "MAX_TTL_DAYS" in str(caught.value)


def test_settings_are_read_from_os_environ_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STALE_AFTER_DAYS", "12")
    assert Settings.from_env().stale_after_days == 12


def test_settings_cannot_be_changed_after_validation() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.rotate_after_days = 1


def test_a_bad_setting_reaches_the_stack_as_a_pydantic_error_naming_the_field() -> None:
    # Given values the stack's config passes at synth, one out of bounds and one mistyped
    # When validated as the stack does / Then pydantic's ValidationError carries each field, its kind and bound
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"rotate_after_days": 0, "dry_run": "perhaps"})
    errors = caught.value.errors(include_url=False)
    assert [(e["loc"], e["type"]) for e in errors] == [
        (("rotate_after_days",), "greater_than_equal"),
        (("dry_run",), "bool_parsing"),
    ]
    assert errors[0]["ctx"] == {"ge": 1}
    assert errors[0]["msg"] == "Input should be greater than or equal to 1"


def test_a_rule_across_settings_reaches_the_stack_without_a_field() -> None:
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate({"rotate_after_days": 120, "max_key_age_days": 120})
    (error,) = caught.value.errors(include_url=False)
    assert (error["loc"], error["type"]) == ((), "value_error")
    assert error["msg"] == "Value error, MAX_KEY_AGE_DAYS must exceed ROTATE_AFTER_DAYS"


def test_settings_built_in_code_are_checked_too() -> None:
    with pytest.raises(ValueError, match=r"secret_recovery_days\n  Input should be greater than or equal to 7"):
        Settings(secret_recovery_days=6)
