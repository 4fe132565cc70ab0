"""Role trust policies in the local account, as AWS judges them (IAM User Guide: "Policy evaluation logic",
"Cross-account policy evaluation logic", "AWS JSON policy elements: Principal"; STS AssumeRole): an AssumeRole
the role's trust policy does not allow is AccessDenied, and a trust policy naming a role that does not exist is
MalformedPolicyDocument. moto lets any caller assume any role and stores any principal."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from local_account.emulator.trust import trust_allows
from tests.local_account.emulator_helpers import ACCOUNT, REGION, error_code

HUB_FUNCTION_ROLE = f"arn:aws:iam::{ACCOUNT}:role/iam-key-lifecycle/hub-function"


def trust(principal: Any, condition: dict[str, Any] | None = None, effect: str = "Allow") -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": effect, "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def context(arn: str, org_id: str | None = None) -> dict[str, list[str]]:
    keys = {"aws:principalarn": [arn], "aws:principalaccount": [arn.split(":")[4]]}
    if org_id:
        keys["aws:principalorgid"] = [org_id]
    return keys


@pytest.mark.parametrize(
    ("policy", "caller", "allowed"),
    [
        # The account root (or its bare id) names every principal of that account.
        (trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}), HUB_FUNCTION_ROLE, True),
        (trust({"AWS": ACCOUNT}), HUB_FUNCTION_ROLE, True),
        (trust({"AWS": "arn:aws:iam::210987654321:root"}), HUB_FUNCTION_ROLE, False),
        # A role ARN names that role's sessions only.
        (trust({"AWS": HUB_FUNCTION_ROLE}), HUB_FUNCTION_ROLE, True),
        (trust({"AWS": HUB_FUNCTION_ROLE}), f"arn:aws:iam::{ACCOUNT}:role/iam-key-lifecycle/other", False),
        # A service principal names the service, never an IAM principal.
        (trust({"Service": "lambda.amazonaws.com"}), HUB_FUNCTION_ROLE, False),
        ("*", HUB_FUNCTION_ROLE, False),  # not a policy: no statement, nothing allowed
        (trust("*"), HUB_FUNCTION_ROLE, True),
        # An explicit deny wins over an allow.
        (
            {
                "Statement": [
                    trust({"AWS": ACCOUNT})["Statement"][0],
                    trust({"AWS": HUB_FUNCTION_ROLE}, effect="Deny")["Statement"][0],
                ]
            },
            HUB_FUNCTION_ROLE,
            False,
        ),
    ],
)
def test_the_trust_policys_principal_must_name_the_caller(policy: Any, caller: str, allowed: bool) -> None:
    document = {"Statement": []} if policy == "*" else policy
    assert trust_allows(document, ("AWS", caller), context(caller)) is allowed


@pytest.mark.parametrize(
    ("condition", "caller_context", "allowed"),
    [
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, context(HUB_FUNCTION_ROLE, "o-abc"), True),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, context(HUB_FUNCTION_ROLE, "o-other"), False),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}, context(HUB_FUNCTION_ROLE), False),
        ({"ArnEquals": {"aws:PrincipalArn": HUB_FUNCTION_ROLE}}, context(HUB_FUNCTION_ROLE), True),
        (
            {"ArnEquals": {"aws:PrincipalArn": HUB_FUNCTION_ROLE}},
            context(f"arn:aws:iam::{ACCOUNT}:user/administrator"),
            False,
        ),
        (
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/iam-key-lifecycle/*"}},
            context(HUB_FUNCTION_ROLE),
            True,
        ),
        ({"StringEquals": {"aws:PrincipalAccount": "210987654321"}}, context(HUB_FUNCTION_ROLE), False),
        (
            {"StringEquals": {"aws:PrincipalOrgID": "o-abc", "aws:PrincipalArn": HUB_FUNCTION_ROLE}},
            context(HUB_FUNCTION_ROLE, "o-abc"),
            True,
        ),
    ],
)
def test_the_trust_policys_conditions_must_hold_for_the_caller(
    condition: dict[str, Any], caller_context: dict[str, list[str]], allowed: bool
) -> None:
    policy = trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, condition)
    assert trust_allows(policy, ("AWS", HUB_FUNCTION_ROLE), caller_context) is allowed


def test_an_action_other_than_assume_role_is_not_granted_by_an_assume_role_statement() -> None:
    policy = trust({"AWS": ACCOUNT})
    assert not trust_allows(policy, ("AWS", HUB_FUNCTION_ROLE), context(HUB_FUNCTION_ROLE), "sts:TagSession")


# --- through the API -------------------------------------------------------------------------------------


def _user_session(iam: Any, name: str) -> boto3.Session:
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return boto3.Session(
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
    )


def test_assume_role_is_refused_when_the_trust_policy_does_not_name_the_caller(iam: Any) -> None:
    # Given a role that trusts only the user "deployer", and two users
    deployer = _user_session(iam, "deployer")
    stranger = _user_session(iam, "stranger")
    role = iam.create_role(
        RoleName="narrow",
        AssumeRolePolicyDocument=json.dumps(trust({"AWS": f"arn:aws:iam::{ACCOUNT}:user/deployer"})),
    )["Role"]
    # When each assumes it, Then the deployer gets a session and the stranger AccessDenied (HTTP 403)
    assumed = deployer.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="ok")
    assert assumed["AssumedRoleUser"]["Arn"].endswith(":assumed-role/narrow/ok")
    with pytest.raises(ClientError) as refused:
        stranger.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="no")
    assert error_code(refused) == "AccessDenied"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert f"arn:aws:iam::{ACCOUNT}:user/stranger" in str(refused.value)


def test_assume_role_of_a_role_that_does_not_exist_is_refused(iam: Any) -> None:
    caller = _user_session(iam, "deployer")
    with pytest.raises(ClientError) as refused:
        caller.client("sts").assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/missing", RoleSessionName="no")
    assert error_code(refused) == "AccessDenied"


def test_a_trust_condition_the_caller_does_not_meet_refuses_assume_role(iam: Any) -> None:
    # Given a role trusting the account root only for principals of an organization this account is not in
    caller = _user_session(iam, "deployer")
    role = iam.create_role(
        RoleName="org-only",
        AssumeRolePolicyDocument=json.dumps(
            trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})
        ),
    )["Role"]
    # When the account's user assumes it, Then AccessDenied
    with pytest.raises(ClientError) as refused:
        caller.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="no")
    assert error_code(refused) == "AccessDenied"


@pytest.mark.parametrize("kind", ["role", "user"])
def test_a_trust_policy_naming_a_principal_that_does_not_exist_is_malformed(iam: Any, kind: str) -> None:
    missing = f"arn:aws:iam::{ACCOUNT}:{kind}/iam-key-lifecycle/not-yet-deployed"
    # When a role is created trusting a principal ARN that does not exist, Then MalformedPolicyDocument
    with pytest.raises(ClientError) as refused:
        iam.create_role(RoleName="spoke", AssumeRolePolicyDocument=json.dumps(trust({"AWS": missing})))
    assert error_code(refused) == "MalformedPolicyDocument"
    assert "Invalid principal in policy" in str(refused.value)
    assert iam.list_roles()["Roles"] == []  # and nothing was created
    # And when an existing role's trust is changed to name it, Then MalformedPolicyDocument, the trust unchanged
    root_trust = json.dumps(trust({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    iam.create_role(RoleName="spoke", AssumeRolePolicyDocument=root_trust)
    with pytest.raises(ClientError) as refused:
        iam.update_assume_role_policy(RoleName="spoke", PolicyDocument=json.dumps(trust({"AWS": missing})))
    assert error_code(refused) == "MalformedPolicyDocument"
    assert iam.get_role(RoleName="spoke")["Role"]["AssumeRolePolicyDocument"] == json.loads(root_trust)


def test_a_trust_to_the_account_root_with_principal_conditions_needs_no_principal_to_exist(iam: Any) -> None:
    # The design that deploys in either order: the root as principal, the hub role named only in a condition.
    document = trust(
        {"AWS": "arn:aws:iam::210987654321:root"},
        {"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::210987654321:role/iam-key-lifecycle/not-yet-deployed"}},
    )
    iam.create_role(RoleName="spoke", AssumeRolePolicyDocument=json.dumps(document))
    assert iam.get_role(RoleName="spoke")["Role"]["RoleName"] == "spoke"
