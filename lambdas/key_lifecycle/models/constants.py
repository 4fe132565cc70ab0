"""Names shared by the stack and the functions: the stack and its events, tags, key statuses, secret stages, the lock
table's schema, metric names, warning codes. One home: the CDK app imports them from here as the functions do."""

from __future__ import annotations

from enum import StrEnum

STACK_NAME = "IamKeyLifecycle"
SERVICE_NAME = "iam-key-lifecycle"  # Powertools service, EventBridge source, default managed-by tag value
METRICS_NAMESPACE = "IamKeyLifecycle"
EVENT_SOURCE = SERVICE_NAME
# The functions, by module name under key_lifecycle.handlers; their roles are named IamKeyLifecycle-<function>-<region>.
FUNCTIONS = ("create_keys", "rotate_keys", "cleanup_users", "detect_changes")
ROLE_NAME_PREFIX = f"{STACK_NAME}-"
CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
AUDIT_DETAIL_TYPE = "Account Posture Audited"
# The prefer-roles advisor: one event per key whose recommendation changed since the previous run.
ADVICE_DETAIL_TYPE = "Access Key Recommendation Changed"
# Its memory of the last recommendations, one item in the lock table (a key no user lock can have: `/` is not
# allowed in an IAM user name).
ADVISOR_STATE_KEY = "advisor/state"

# Tags on a managed user.
MANAGED_BY_TAG = "managed-by"
OWNER_TAG = "owner"
EXPIRES_AT_TAG = "expires-at"
PURPOSE_TAG = "purpose"
EXEMPT_UNTIL_TAG = "exempt-until"
# Durable lifecycle records on the user (IAM keeps neither): when a key's secret version became
# AWSCURRENT, and when the stack deactivated a key. One tag per key, removed with the key.
CURRENT_SINCE_TAG_PREFIX = "current-since:"
DEACTIVATED_AT_TAG_PREFIX = "deactivated-at:"
# One tag per forewarned event and window: `warned:<event>:<key>` = the window's start.
WARNED_TAG_PREFIX = "warned:"
# Write-ahead records: `provisioning` is set by CreateUser and removed once the user is complete; `pending-key` is
# written (ISO time) before CreateAccessKey and removed once the new key's secret version is stored, so a key left
# without a secret by a crash is known to be ours and is deleted; `deleting` is written before a user's deletion
# starts, so a cut-short deletion is resumed, never undone.
PROVISIONING_TAG = "provisioning"
PENDING_KEY_TAG = "pending-key"
DELETING_TAG = "deleting"
IN_FLIGHT_TAGS = (PENDING_KEY_TAG, DELETING_TAG)

# Secrets Manager staging labels.
STAGE_CURRENT = "AWSCURRENT"
STAGE_PENDING = "AWSPENDING"
STAGE_PREVIOUS = "AWSPREVIOUS"

# The per-user lock table: its partition key and its TTL attribute (epoch seconds).
LOCK_KEY_ATTRIBUTE = "lock_key"
LOCK_TTL_ATTRIBUTE = "expires_at"
# The notified open conditions share the table under their own key space (never a user lock's key: a user name
# holds no "/" at its start, and these keys start with this prefix).
CONDITIONS_KEY_PREFIX = "open-conditions/"


class KeyStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


class Metric(StrEnum):
    """What every lifecycle run emits (EMF, one data point each per run); the dashboard graphs these."""

    USERS_CREATED = "UsersCreated"
    USERS_DELETED = "UsersDeleted"
    KEYS_CREATED = "KeysCreated"
    KEYS_ROTATED = "KeysRotated"
    KEYS_DEACTIVATED = "KeysDeactivated"
    KEYS_DELETED = "KeysDeleted"
    WARNINGS = "Warnings"
    FAILURES = "Failures"


class PostureMetric(StrEnum):
    """The posture audit's counts, one data point per audit, by finding code."""

    ROOT_ACCESS_KEY = "PostureRootAccessKeys"
    UNMANAGED_KEY_OVER_90_DAYS = "PostureOldUnmanagedKeys"
    CREDENTIAL_UNUSED_90_DAYS = "PostureUnused90Days"
    CREDENTIAL_UNUSED_45_DAYS = "PostureUnused45Days"
    TWO_ACTIVE_KEYS = "PostureTwoActiveKeys"
    DIRECT_USER_POLICY = "PostureDirectPolicies"


class WarningCode(StrEnum):
    """The machine-readable reason of a run's warning (reports, events, notifications)."""

    BAD_CURRENT_SINCE = "bad_current_since"
    BAD_DEACTIVATED_AT = "bad_deactivated_at"
    BAD_EXEMPT_UNTIL = "bad_exempt_until"
    BAD_EXPIRES_AT = "bad_expires_at"
    CURRENT_KEY_INACTIVE = "current_key_inactive"
    DEACTIVATION_POSTPONED = "deactivation_postponed"
    DELETION_IN_PROGRESS = "deletion_in_progress"
    HARD_CAP_DEACTIVATED = "hard_cap_deactivated"
    KEY_CREATION_IN_PROGRESS = "key_creation_in_progress"
    KEY_OVER_MAX_AGE = "key_over_max_age"
    KEY_WITHOUT_SECRET = "key_without_secret"
    NO_CURRENT_KEY = "no_current_key"
    TWO_KEYS_NO_SECRET = "two_keys_no_secret"
    UNMANAGED_IN_PATH = "unmanaged_in_path"
    USER_EXPIRED = "user_expired"
    # A rotation that waits, by what blocks it.
    ROTATION_BLOCKED_BY_UNSTORED_KEY = "rotation_blocked_by_unstored_key"
    NEWER_KEY_EXISTS = "newer_key_exists"
    ROTATION_WAITING_FOR_DELETE_GRACE = "rotation_waiting_for_delete_grace"
    TWO_ACTIVE_KEYS = "two_active_keys"
    # Set while applying.
    VERIFICATION_PENDING = "verification_pending"
    LOCKED_BY_ANOTHER_RUN = "locked_by_another_run"
    TIME_BUDGET_EXHAUSTED = "time_budget_exhausted"


# Warnings passed on from the other parts of a run, by the prefix of their code.
FOREWARN_CODE_PREFIX = "forewarn:"
AUDIT_CODE_PREFIX = "audit:"
CHANGE_CODE_PREFIX = "change:"

# Organization mode: what the hub's functions find in each member account, by fixed name (the StackSet's spoke).
# A member's roles are IamKeyLifecycleSpoke-<function with dashes>, under the stack's role path; the engine builds
# their ARNs from the account id alone, so the hub never needs a member's stack outputs.
SPOKE_ROLE_NAME_PREFIX = f"{STACK_NAME}Spoke-"
SPOKE_SECRETS_KEY_ALIAS = "alias/iam-key-lifecycle-secrets"
SPOKE_BOUNDARY_POLICY_NAME = f"{STACK_NAME}TemporaryUserBoundary"
SPOKE_GROUP_NAME = f"{STACK_NAME}TemporaryUsers"
# The path of the spoke's roles and boundary policy in each member account (the stack's own role path).
SPOKE_PATH = "/iam-key-lifecycle/"


def spoke_role_name(function: str) -> str:
    """The name of a function's role in every member account (one spoke per account: no region in the name)."""
    return f"{SPOKE_ROLE_NAME_PREFIX}{function.replace('_', '-')}"


def spoke_boundary_arn(partition: str, account_id: str) -> str:
    """The temporary users' permissions boundary in a member account (the spoke makes it at the root path, as the
    hub's own boundary is)."""
    return f"arn:{partition}:iam::{account_id}:policy/{SPOKE_BOUNDARY_POLICY_NAME}"
