"""Open conditions as Security Hub findings (ASFF, through BatchImportFindings with the account's default product):
a deterministic id per condition, the control it maps to, a severity and the resource; on clearing the same finding
is imported again with Compliance PASSED and RecordState ARCHIVED. Pure: no I/O."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from key_lifecycle.domain.notices import ADVICE, Condition, short_code
from key_lifecycle.models.constants import SERVICE_NAME, WarningCode
from key_lifecycle.models.dates import format_timestamp

SCHEMA_VERSION = "2018-10-08"
TYPE = "Software and Configuration Checks/AWS Security Best Practices"
TITLE_MAX, DESCRIPTION_MAX = 256, 1024
# BatchImportFindings takes at most 100 findings per call.
BATCH = 100

# Condition code (without its audit: prefix) → (Security Hub control, severity label). Conditions not listed are
# the stack's own housekeeping (a lock taken, a time budget spent): they are notified, never findings.
CONTROLS: dict[str, tuple[str, str]] = {
    "root_access_key": ("IAM.4", "CRITICAL"),
    "unmanaged_key_over_90_days": ("IAM.3", "MEDIUM"),
    "credential_unused_90_days": ("IAM.8", "MEDIUM"),
    "credential_unused_45_days": ("IAM.22", "MEDIUM"),
    "direct_user_policy": ("IAM.2", "LOW"),
    # A key past rotation still in use, and a key nobody can read from a secret, keep a key alive past the
    # rotation the stack enforces: the key rotation control.
    WarningCode.DEACTIVATION_POSTPONED: ("IAM.3", "MEDIUM"),
    WarningCode.KEY_WITHOUT_SECRET: ("IAM.3", "MEDIUM"),
    WarningCode.KEY_OVER_MAX_AGE: ("IAM.3", "MEDIUM"),
}


def is_finding(condition: Condition) -> bool:
    return short_code(condition.code) in CONTROLS


def finding_id(account_id: str, condition: Condition) -> str:
    """The same for every import of one condition in one account: opening and clearing update one finding."""
    return f"{SERVICE_NAME}/{account_id}/{condition.id.replace('|', '/')}"


def product_arn(partition: str, region: str, account_id: str) -> str:
    """The account's default product: a finding of one's own account, imported by the account itself."""
    return f"arn:{partition}:securityhub:{region}:{account_id}:product/{account_id}/default"


def finding(
    condition: Condition,
    *,
    account_id: str,
    region: str,
    partition: str,
    now: datetime,
    cleared: bool,
) -> dict[str, Any]:
    """The ASFF finding of one condition: FAILED and ACTIVE while it is open, PASSED and ARCHIVED once it cleared.
    Workflow is never set: it is the customer's (BatchUpdateFindings); Security Hub itself sets it back to NEW when a
    resolved finding's compliance returns to FAILED."""
    code = short_code(condition.code)
    control, severity = CONTROLS[code]
    if condition.user_name:
        resource = {
            "Type": "AwsIamUser",
            "Id": f"arn:{partition}:iam::{account_id}:user/{condition.user_name}",
            "Partition": partition,
            "Region": region,
            "Details": {"AwsIamUser": {"UserName": condition.user_name}},
        }
        if condition.access_key_id:
            resource["Tags"] = {"access-key-id": condition.access_key_id}
    else:
        resource = {
            "Type": "AwsAccount",
            "Id": f"AWS::::Account:{account_id}",
            "Partition": partition,
            "Region": region,
        }
    where = f"user {condition.user_name}" if condition.user_name else f"account {account_id}"
    advice = ADVICE.get(code, "")
    description = f"{condition.message}. {f'What to do: {advice}.' if advice else ''}".strip()
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(account_id, condition),
        "ProductArn": product_arn(partition, region, account_id),
        "GeneratorId": f"{SERVICE_NAME}/{code}",
        "AwsAccountId": account_id,
        "Types": [TYPE],
        "CreatedAt": condition.opened_at or format_timestamp(now),
        "UpdatedAt": format_timestamp(now),
        # The same on every import: a finding provider sets severity and types through FindingProviderFields and
        # never changes them with BatchImportFindings (they are the customer's once BatchUpdateFindings touched them).
        "Severity": {"Label": severity},
        "FindingProviderFields": {"Severity": {"Label": severity, "Original": severity}, "Types": [TYPE]},
        "Title": f"[{control}] {code.replace('_', ' ')} on {where}"[:TITLE_MAX],
        "Description": description[:DESCRIPTION_MAX] or code,
        "Resources": [resource],
        "Compliance": {"Status": "PASSED" if cleared else "FAILED", "RelatedRequirements": [control]},
        "RecordState": "ARCHIVED" if cleared else "ACTIVE",
        "ProductFields": {"iam-key-lifecycle/code": code, "iam-key-lifecycle/opened-at": condition.opened_at},
    }


# The prefer-roles advisor's findings: a key a role could replace. No Security Hub control asks for it (IAM.3 is
# about rotation), so no related requirement; informational.
ADVICE_SEVERITY = "INFORMATIONAL"
ADVICE_CODE = "key_replaceable_by_role"


def advice_finding_id(account_id: str, access_key_id: str) -> str:
    """The same for every import about one key in one account: opening, changing and archiving update one finding."""
    return f"{SERVICE_NAME}/{account_id}/advice/{access_key_id}"


def advice_finding(
    *,
    access_key_id: str,
    user_name: str | None,
    recommendation: str,
    reason: str,
    account_id: str,
    region: str,
    partition: str,
    now: datetime,
    cleared: bool,
) -> dict[str, Any]:
    """The ASFF finding of a key whose latest advice names a role (ACTIVE), or of a key whose advice no longer
    does or that is gone (ARCHIVED; `user_name` None when the key is gone and its user unknown). The resource is
    the access key, with its user (principal) when known."""
    key: dict[str, Any] = {
        "Type": "AwsIamAccessKey",
        "Id": access_key_id,
        "Partition": partition,
        "Region": region,
        "Details": {"AwsIamAccessKey": {"AccessKeyId": access_key_id, "AccountId": account_id}},
    }
    resources = [key]
    if user_name:
        key["Details"]["AwsIamAccessKey"] |= {"PrincipalName": user_name, "PrincipalType": "IAMUser"}
        resources.append(
            {
                "Type": "AwsIamUser",
                "Id": f"arn:{partition}:iam::{account_id}:user/{user_name}",
                "Partition": partition,
                "Region": region,
                "Details": {"AwsIamUser": {"UserName": user_name}},
            }
        )
    where = f"user {user_name}" if user_name else f"key {access_key_id}"
    title = f"Access key of {where} could be replaced by a role ({recommendation.replace('_', ' ')})"
    if cleared:
        title = f"Access key of {where}: no role replacement advised any more"
    stamp = format_timestamp(now)
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": advice_finding_id(account_id, access_key_id),
        "ProductArn": product_arn(partition, region, account_id),
        "GeneratorId": f"{SERVICE_NAME}/{ADVICE_CODE}",
        "AwsAccountId": account_id,
        "Types": [TYPE],
        "CreatedAt": stamp,
        "UpdatedAt": stamp,
        "Severity": {"Label": ADVICE_SEVERITY},
        "FindingProviderFields": {"Severity": {"Label": ADVICE_SEVERITY, "Original": ADVICE_SEVERITY}, "Types": [TYPE]},
        "Title": title[:TITLE_MAX],
        "Description": (reason or recommendation)[:DESCRIPTION_MAX],
        "Resources": resources,
        "Compliance": {"Status": "PASSED" if cleared else "WARNING", "RelatedRequirements": []},
        "RecordState": "ARCHIVED" if cleared else "ACTIVE",
        "ProductFields": {"iam-key-lifecycle/code": ADVICE_CODE, "iam-key-lifecycle/recommendation": recommendation},
    }
