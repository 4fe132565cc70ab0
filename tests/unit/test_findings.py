"""Open conditions as Security Hub findings: payloads valid against the botocore model of BatchImportFindings,
deterministic ids, the control and severity, and the clearing update. No AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator

from key_lifecycle.domain import findings, notices
from key_lifecycle.models.report import Warning

NOW = datetime(2030, 1, 10, 9, tzinfo=UTC)
ACCOUNT, REGION = "123456789012", "us-east-1"


def _input_shape() -> Any:
    model = botocore.session.get_session().get_service_model("securityhub")
    return model.operation_model("BatchImportFindings").input_shape


def assert_valid(batch: list[dict[str, Any]]) -> None:
    report = ParamValidator().validate({"Findings": batch}, _input_shape())
    assert not report.has_errors(), report.generate_report()


def condition(code: str, user: str | None = "legacy-ci", key: str | None = None) -> notices.Condition:
    (found,) = notices.conditions_of(
        [Warning(user_name=user, code=code, message=f"{code} seen", access_key_id=key)], {}, NOW
    ).values()
    return found


def finding(c: notices.Condition, *, cleared: bool = False, now: datetime = NOW) -> dict[str, Any]:
    return findings.finding(c, account_id=ACCOUNT, region=REGION, partition="aws", now=now, cleared=cleared)


@pytest.mark.parametrize(
    ("code", "control", "severity"),
    [
        ("audit:root_access_key", "IAM.4", "CRITICAL"),
        ("audit:unmanaged_key_over_90_days", "IAM.3", "MEDIUM"),
        ("audit:credential_unused_90_days", "IAM.8", "MEDIUM"),
        ("audit:credential_unused_45_days", "IAM.22", "MEDIUM"),
        ("audit:direct_user_policy", "IAM.2", "LOW"),
        ("deactivation_postponed", "IAM.3", "MEDIUM"),
        ("key_without_secret", "IAM.3", "MEDIUM"),
    ],
)
def test_each_posture_condition_is_a_valid_finding_with_its_control(code: str, control: str, severity: str) -> None:
    c = condition(code, user=None if code == "audit:root_access_key" else "legacy-ci", key="AKIA1")
    opened, cleared = finding(c), finding(c, cleared=True, now=NOW + timedelta(days=2))
    # Then both imports are valid BatchImportFindings input (and the validation does catch an invalid one)
    assert_valid([opened, cleared])
    broken = {k: v for k, v in opened.items() if k != "AwsAccountId"}
    assert ParamValidator().validate({"Findings": [broken]}, _input_shape()).has_errors()
    # And they are one finding (the same id), FAILED/ACTIVE while open, PASSED/ARCHIVED once cleared
    assert opened["Id"] == cleared["Id"] == findings.finding_id(ACCOUNT, c)
    assert opened["Compliance"] == {"Status": "FAILED", "RelatedRequirements": [control]}
    assert cleared["Compliance"] == {"Status": "PASSED", "RelatedRequirements": [control]}
    assert (opened["RecordState"], cleared["RecordState"]) == ("ACTIVE", "ARCHIVED")
    # And severity and types stay as first imported (a provider does not change them), Workflow is never sent
    assert opened["Severity"] == cleared["Severity"] == {"Label": severity}
    assert opened["CreatedAt"] == cleared["CreatedAt"] == "2030-01-10T09:00:00Z"
    assert cleared["UpdatedAt"] == "2030-01-12T09:00:00Z"
    assert "Workflow" not in opened and "Workflow" not in cleared
    assert opened["ProductArn"] == f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
    assert opened["AwsAccountId"] == ACCOUNT


def test_the_resource_is_the_user_or_the_account() -> None:
    (user,) = finding(condition("audit:direct_user_policy"))["Resources"]
    (account,) = finding(condition("audit:root_access_key", user=None))["Resources"]
    assert user["Type"] == "AwsIamUser" and user["Id"] == f"arn:aws:iam::{ACCOUNT}:user/legacy-ci"
    assert account == {"Type": "AwsAccount", "Id": f"AWS::::Account:{ACCOUNT}", "Partition": "aws", "Region": REGION}


def test_housekeeping_conditions_are_not_findings() -> None:
    assert not findings.is_finding(condition("locked_by_another_run"))
    assert not findings.is_finding(condition("unmanaged_in_path"))
    assert findings.is_finding(condition("audit:root_access_key", user=None))


def test_long_messages_stay_within_asff_limits() -> None:
    (c,) = notices.conditions_of(
        [Warning(user_name="u" * 64, code="audit:direct_user_policy", message="m" * 5000)], {}, NOW
    ).values()
    f = finding(c)
    assert_valid([f])
    assert len(f["Title"]) <= 256 and len(f["Description"]) <= 1024


@pytest.mark.parametrize("user_name", ["report-runner", None])
def test_a_key_a_role_could_replace_is_a_valid_informational_finding_archived_by_the_same_id(
    user_name: str | None,
) -> None:
    def advice(*, cleared: bool, now: datetime = NOW) -> dict[str, Any]:
        return findings.advice_finding(
            access_key_id="AKIA0000000000000001",
            user_name=user_name,
            recommendation="instance_profile",
            reason="every call came from an EC2 address",
            account_id=ACCOUNT,
            region=REGION,
            partition="aws",
            now=now,
            cleared=cleared,
        )

    opened, archived = advice(cleared=False), advice(cleared=True, now=NOW + timedelta(days=7))
    # Then both are valid BatchImportFindings input, one finding (the same id), informational, with no control
    assert_valid([opened, archived])
    assert opened["Id"] == archived["Id"] == f"iam-key-lifecycle/{ACCOUNT}/advice/AKIA0000000000000001"
    assert opened["Severity"] == {"Label": "INFORMATIONAL"} and opened["Compliance"]["RelatedRequirements"] == []
    assert (opened["RecordState"], archived["RecordState"]) == ("ACTIVE", "ARCHIVED")
    assert archived["Compliance"]["Status"] == "PASSED"
    # And the resource is the key, with its user when known
    types = [r["Type"] for r in opened["Resources"]]
    assert types == (["AwsIamAccessKey", "AwsIamUser"] if user_name else ["AwsIamAccessKey"])
    assert "instance profile" in opened["Title"] and "secret" not in json.dumps(opened).lower()
