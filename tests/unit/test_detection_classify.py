"""Classification of real-shaped CloudTrail IAM events (tests.support.cloudtrail, as EventBridge delivers them)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from key_lifecycle.domain.classify import ChangeKind, Classification, made_by_stack, target_user_name
from key_lifecycle.domain.classify import classify as classify_in_region
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, SecretState, SecretVersionState, UserState
from tests.support.cloudtrail import CLOUDTRAIL_EVENTS, cloudtrail_event

CREATED = datetime(2025, 1, 1, tzinfo=UTC)
STORED_KEY = "AKIA3STACKMADEKEY001"


# The stack's role names hold the region it is deployed to.
REGION = "us-east-1"


def classify(event: dict[str, Any], target: UserState | None, settings: Settings) -> Classification:
    return classify_in_region(event, target, settings, region=REGION)


def managed_user(name: str = "ci-deployer", *, keys: tuple[str, ...] = ()) -> UserState:
    return UserState(
        user_name=name,
        arn=f"arn:aws:iam::123456789012:user/temporary/{name}",
        path="/temporary/",
        create_date=CREATED,
        tags={"managed-by": "iam-key-lifecycle", "owner": "team@example.com"},
        keys=tuple(AccessKeyState(access_key_id=k, status="Active", create_date=CREATED) for k in keys),
        secret=SecretState(
            name=f"temporary-iam-users/{name}",
            arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:temporary-iam-users/x",
            versions=(SecretVersionState(version_id=f"{STORED_KEY}-{'a' * 32}", stages=("AWSCURRENT",)),),
        ),
    )


def unmanaged_user(name: str = "ci-deployer") -> UserState:
    return UserState(user_name=name, arn=f"arn:aws:iam::123456789012:user/{name}", path="/", create_date=CREATED)


@pytest.mark.parametrize(
    ("fixture", "kind", "severity"),
    [
        ("create_access_key_by_hand", ChangeKind.KEY_CREATED_OUT_OF_BAND, "high"),
        ("create_access_key_own_user", ChangeKind.KEY_CREATED_OUT_OF_BAND, "high"),
        ("update_access_key", ChangeKind.KEY_STATUS_CHANGED, "high"),
        ("attach_user_policy", ChangeKind.POLICY_ATTACHED, "high"),
        ("put_user_policy", ChangeKind.POLICY_ATTACHED, "high"),
        ("update_user", ChangeKind.USER_UPDATED, "high"),
        ("delete_user_permissions_boundary", ChangeKind.BOUNDARY_REMOVED, "critical"),
        ("create_login_profile", ChangeKind.LOGIN_PROFILE_CREATED, "high"),
    ],
)
def test_each_watched_change_to_a_managed_user_is_reported(fixture: str, kind: ChangeKind, severity: str) -> None:
    # Given a CloudTrail event made by a person on a managed user
    event = cloudtrail_event(fixture)
    # When classified
    change = classify(event, managed_user(), Settings())
    # Then it is reported with its kind, severity, user, actor and an EventBridge detail-type
    assert (change.kind, change.severity) == (kind, severity)
    assert change.reported and change.detail_type
    assert change.user_name == "ci-deployer"
    assert change.actor is not None and change.actor.startswith("arn:aws:iam::123456789012:")
    assert change.event_id == event["detail"]["eventID"]


def test_a_key_created_by_hand_is_named_and_only_reported_by_default() -> None:
    change = classify(cloudtrail_event("create_access_key_by_hand"), managed_user(), Settings())
    assert change.access_key_id == "AKIA3HANDMADEKEY0001"
    assert "outside the stack" in change.message and "unmanaged" in change.message
    assert change.deactivate_key is False


def test_a_key_created_by_hand_is_marked_for_deactivation_when_configured() -> None:
    change = classify(
        cloudtrail_event("create_access_key_by_hand"), managed_user(), Settings(out_of_band_key_response="deactivate")
    )
    assert change.deactivate_key is True
    assert change.as_detail()["response"] == "deactivate"


def test_the_stacks_own_calls_are_expected() -> None:
    # Given the rotate function's role (under the stack's role path) creating a key
    event = cloudtrail_event("create_access_key_by_stack")
    assert made_by_stack(event["detail"], Settings(), REGION)
    # Then nothing is reported
    assert classify(event, managed_user(keys=(STORED_KEY,)), Settings()).kind is ChangeKind.MADE_BY_STACK
    # And a role of another deployment (another role path) is not the stack
    assert not made_by_stack(event["detail"], Settings(stack_role_path="/other-stack/"), REGION)


def test_a_key_already_stored_in_the_users_secret_is_the_stacks_even_if_the_caller_looks_foreign() -> None:
    event = cloudtrail_event("create_access_key_by_hand")
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = STORED_KEY
    assert classify(event, managed_user(keys=(STORED_KEY,)), Settings()).kind is ChangeKind.MADE_BY_STACK


def test_a_root_access_key_is_critical_whatever_the_target() -> None:
    event = cloudtrail_event("create_access_key_root")
    assert target_user_name(event) is None
    change = classify(event, None, Settings())
    assert (change.kind, change.severity, change.access_key_id) == (
        ChangeKind.ROOT_KEY_CREATED,
        "critical",
        "AKIA3ROOTKEY00000001",
    )
    assert "IAM.4" in change.message


def test_a_user_created_in_the_managed_path_by_a_person_is_reported() -> None:
    event = cloudtrail_event("create_user_in_path")
    change = classify(event, None, Settings())
    assert change.kind is ChangeKind.USER_CREATED_IN_PATH
    assert "without this stack's managed-by tag" in change.message


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("create_user_elsewhere", ChangeKind.UNRELATED),
        ("create_access_key_by_hand", ChangeKind.UNRELATED),
        ("attach_user_policy", ChangeKind.UNRELATED),
        ("create_access_key_denied", ChangeKind.FAILED_CALL),
    ],
)
def test_changes_to_other_users_and_refused_calls_are_not_reported(fixture: str, kind: ChangeKind) -> None:
    change = classify(cloudtrail_event(fixture), unmanaged_user(), Settings())
    assert change.kind is kind and not change.reported


def test_an_in_path_user_without_the_tag_is_not_managed() -> None:
    user = managed_user().model_copy(update={"tags": {"managed-by": "someone-else"}})
    assert classify(cloudtrail_event("create_access_key_by_hand"), user, Settings()).kind is ChangeKind.UNRELATED


def test_the_target_of_each_event() -> None:
    assert target_user_name(cloudtrail_event("create_access_key_own_user")) == "ci-deployer"  # no userName: the caller
    renamed = cloudtrail_event("update_user")
    renamed["detail"]["requestParameters"]["newUserName"] = "ci-deployer-2"
    assert target_user_name(renamed) == "ci-deployer-2"


def test_no_detail_ever_holds_request_documents_or_secrets() -> None:
    # A policy document or a password would be noise or worse in a notification; only ids and names go out.
    for path in sorted(CLOUDTRAIL_EVENTS.glob("*.json")):
        event = json.loads(path.read_text())
        detail = classify(event, managed_user(), Settings()).as_detail()
        text = json.dumps(detail)
        assert "policyDocument" not in text and "Statement" not in text, path.name
        assert set(detail) == {
            "kind",
            "severity",
            "event_name",
            "user_name",
            "access_key_id",
            "actor",
            "event_time",
            "cloudtrail_event_id",
            "message",
            "response",
        }


BOUNDARY = "arn:aws:iam::123456789012:policy/iam-key-lifecycle/Boundary"
GROUP = "IamKeyLifecycle-TemporaryUsers"


def deployed() -> Settings:
    return Settings(permissions_boundary_arn=BOUNDARY, temporary_user_group=GROUP)


def test_tagging_a_user_made_by_hand_as_managed_is_critical() -> None:
    # Given an in-path user made by hand (no boundary), now carrying the managed-by tag someone just gave it
    handmade = managed_user().model_copy(update={"permissions_boundary_arn": None})
    # When the TagUser event is classified
    change = classify(cloudtrail_event("tag_user_managed_by"), handmade, deployed())
    # Then it is reported as critical: the managed-by tag decides which users the stack manages
    assert (change.kind, change.severity) == (ChangeKind.MANAGED_TAGS_CHANGED, "critical")
    assert change.reported and "managed-by" in change.message


@pytest.mark.parametrize("fixture", ["tag_user_expiry", "untag_user"])
def test_a_managed_users_tags_changed_by_hand_are_reported(fixture: str) -> None:
    user = managed_user().model_copy(update={"permissions_boundary_arn": BOUNDARY})
    change = classify(cloudtrail_event(fixture), user, deployed())
    assert (change.kind, change.severity) == (ChangeKind.MANAGED_TAGS_CHANGED, "high")
    assert "expires-at" in change.message


def test_tags_of_a_user_the_stack_does_not_manage_are_not_its_concern() -> None:
    assert classify(cloudtrail_event("tag_user_expiry"), unmanaged_user(), deployed()).kind is ChangeKind.UNRELATED


def test_a_user_added_to_the_temporary_users_group_by_hand_is_reported() -> None:
    change = classify(cloudtrail_event("add_user_to_group"), unmanaged_user("admin"), deployed())
    assert (change.kind, change.severity) == (ChangeKind.ADDED_TO_GROUP, "high")
    other = cloudtrail_event("add_user_to_group")
    other["detail"]["requestParameters"]["groupName"] = "developers"
    assert classify(other, unmanaged_user("admin"), deployed()).kind is ChangeKind.UNRELATED


def test_a_policy_attached_to_the_temporary_users_group_is_reported() -> None:
    change = classify(cloudtrail_event("attach_group_policy"), None, deployed())
    assert (change.kind, change.severity) == (ChangeKind.GROUP_POLICY_CHANGED, "high")
    assert "AdministratorAccess" in change.message


def test_a_new_version_of_the_boundary_policy_is_critical() -> None:
    change = classify(cloudtrail_event("create_policy_version"), None, deployed())
    assert (change.kind, change.severity) == (ChangeKind.BOUNDARY_POLICY_CHANGED, "critical")
    elsewhere = cloudtrail_event("create_policy_version")
    elsewhere["detail"]["requestParameters"]["policyArn"] = "arn:aws:iam::123456789012:policy/app"
    assert classify(elsewhere, None, deployed()).kind is ChangeKind.UNRELATED


def test_an_in_path_user_without_the_boundary_is_not_managed() -> None:
    # The stack creates every user with its boundary; a tagged user without it was not made by the stack
    handmade = managed_user().model_copy(update={"permissions_boundary_arn": None})
    assert classify(cloudtrail_event("create_access_key_by_hand"), handmade, deployed()).kind is ChangeKind.UNRELATED


def test_a_role_someone_created_under_the_stacks_role_path_is_not_the_stack() -> None:
    # Given a key created by a session of a role under the stack's role path that is not one of its function roles
    event = cloudtrail_event("create_access_key_by_stack")
    issuer = event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]
    issuer["arn"] = "arn:aws:iam::123456789012:role/iam-key-lifecycle/IamKeyLifecycle-rotate-keys-us-east-1-lookalike"
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = "AKIA3LOOKALIKEKEY001"
    # Then it is not the stack's own call, and the key is reported
    assert not made_by_stack(event["detail"], Settings(), REGION)
    change = classify(event, managed_user(), Settings())
    assert change.kind is ChangeKind.KEY_CREATED_OUT_OF_BAND
