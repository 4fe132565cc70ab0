"""The prefer-roles advisor over recorded CloudTrail records: each origin classified, each key's recommendation
and its artefact (least-privilege policies within IAM's size limits, OIDC trust policies of the right form)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import pytest

from key_lifecycle.domain.advisor import (
    MANAGED_POLICY_MAX_CHARS,
    TRUST_POLICY_MAX_CHARS,
    Origin,
    Recommendation,
    advise,
    changed,
    classify,
    github_trust,
    observed_actions,
    policy_documents,
    ranges_age_days,
)
from key_lifecycle.models.advice import IpRanges, KeyUsage, TrailRecord
from tests.support.cloudtrail import cloudtrail_records

NOW = datetime(2026, 12, 1, tzinfo=UTC)
ACCOUNT = "123456789012"
RANGES = IpRanges.bundled()


def _usages(fixture: str) -> dict[str, KeyUsage]:
    """The fixture's records grouped by access key, as the gateway hands them over."""
    by_key: dict[tuple[str, str], list[TrailRecord]] = defaultdict(list)
    for record in cloudtrail_records(fixture):
        identity = record["userIdentity"]
        by_key[(identity["userName"], identity["accessKeyId"])].append(TrailRecord.from_cloudtrail(record))
    return {
        user: KeyUsage(user_name=user, access_key_id=key, records=tuple(records))
        for (user, key), records in by_key.items()
    }


def _advise(usage: KeyUsage, window_days: int = 30) -> Any:
    return advise(usage, RANGES, now=NOW, window_days=window_days, account_id=ACCOUNT)


def _compact_length(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def _assert_valid_policy(document: dict[str, Any]) -> None:
    assert document["Version"] == "2012-10-17"
    assert _compact_length(document) <= MANAGED_POLICY_MAX_CHARS
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        for action in actions:
            service, _, name = action.partition(":")
            assert service and name and "*" not in action and "?" not in action, action


# --- classification --------------------------------------------------------------------------------------------


def test_the_bundled_ip_ranges_parse_with_their_creation_date() -> None:
    assert RANGES.create_date == datetime(2026, 11, 30, 18, 13, 7, tzinfo=UTC)
    assert ranges_age_days(RANGES, NOW) == 0
    assert ranges_age_days(RANGES, datetime(2027, 3, 1, tzinfo=UTC)) == 90
    assert ranges_age_days(RANGES, datetime(2026, 1, 1, tzinfo=UTC)) == 0  # a clock behind the file
    assert {p.service for p in RANGES.lookup("52.1.23.45")} == {"AMAZON", "EC2"}
    assert RANGES.lookup("203.0.113.40") == []
    assert RANGES.lookup("not an address") == []


@pytest.mark.parametrize(
    ("fixture", "user", "origin", "detail"),
    [
        ("ec2_instance", "report-runner", Origin.EC2, "EC2 in us-east-1"),
        ("lambda_function", "thumbnailer", Origin.LAMBDA, "AWS_Lambda_python3.13 in eu-central-1"),
        ("ecs_task", "billing-worker", Origin.ECS, "AWS_ECS_FARGATE in eu-west-1"),
        ("on_premises", "backup-agent", Origin.ELSEWHERE, "203.0.113.40"),
        ("gitlab_ci_unscoped", "docs-publisher", Origin.GITLAB_CI, ""),
    ],
)
def test_each_place_is_classified_from_its_first_record(fixture: str, user: str, origin: Origin, detail: str) -> None:
    record = _usages(fixture)[user].records[0]
    assert classify(record, RANGES).origin == origin
    assert classify(record, RANGES).detail == detail


def test_the_user_agent_wins_over_the_address_when_they_disagree() -> None:
    # A Lambda function's address is in EC2's ranges; a self-hosted GitHub runner's too.
    lambda_call = _usages("lambda_function")["thumbnailer"].records[0]
    assert RANGES.lookup(lambda_call.source_ip)  # an EC2 address...
    assert classify(lambda_call, RANGES).origin == Origin.LAMBDA  # ...but the function says who it is
    runner = _usages("ambiguous")["runner-ci"].records[0]
    assert any(p.service == "EC2" for p in RANGES.lookup(runner.source_ip))
    assert classify(runner, RANGES).origin == Origin.GITHUB_ACTIONS


def test_a_vpc_endpoint_call_and_an_aws_service_and_a_call_without_address() -> None:
    usages = _usages("ambiguous")
    vpc = classify(usages["vpc-batch"].records[0], RANGES)
    assert (vpc.origin, vpc.detail) == (Origin.AWS_NETWORK, "VPC endpoint vpce-0a1b2c3d4e5f60718")
    internal, blank = (classify(r, RANGES) for r in usages["athena-user"].records)
    assert internal.origin == Origin.AWS_SERVICE
    assert blank.origin == Origin.UNKNOWN


def test_a_service_acting_for_the_user_is_named_by_its_dns_name() -> None:
    record = _usages("github_actions")["webapp-deployer"].records[-1]
    assert classify(record, RANGES) == classify(record, RANGES)
    assert classify(record, RANGES).origin == Origin.AWS_SERVICE
    assert classify(record, RANGES).detail == "cloudformation.amazonaws.com"


def test_an_address_of_aws_outside_ec2_is_inside_aws_and_a_private_one_too() -> None:
    base = TrailRecord(event_time=NOW, event_source="s3.amazonaws.com", event_name="ListBuckets")
    assert classify(base.model_copy(update={"source_ip": "52.94.1.1"}), RANGES).origin == Origin.AWS_NETWORK
    assert classify(base.model_copy(update={"source_ip": "172.31.4.5"}), RANGES).origin == Origin.AWS_NETWORK
    assert classify(base.model_copy(update={"source_ip": "2600:1f18::1"}), RANGES).origin == Origin.EC2
    assert classify(base.model_copy(update={"source_ip": "198.51.100.9"}), RANGES).origin == Origin.ELSEWHERE


# --- recommendations -------------------------------------------------------------------------------------------


def test_an_ec2_caller_gets_an_instance_profile_with_exactly_what_it_did() -> None:
    advice = _advise(_usages("ec2_instance")["report-runner"])
    assert advice.recommendation == Recommendation.INSTANCE_PROFILE
    assert [(o.origin, o.calls, o.share) for o in advice.origins] == [(Origin.EC2, 6, 1.0)]
    (policy,) = advice.artefact["policies"]
    _assert_valid_policy(policy)
    granted = {(a, json.dumps(s["Resource"])) for s in policy["Statement"] for a in s["Action"]}
    assert granted == {
        ("ssm:GetParameter", '"arn:aws:ssm:us-east-1:123456789012:parameter/app/config"'),
        ("dynamodb:DescribeTable", '"arn:aws:dynamodb:us-east-1:123456789012:table/orders"'),
        ("s3:ListAllMyBuckets", '"*"'),  # the event ListBuckets is the action s3:ListAllMyBuckets
    }  # not sts:GetCallerIdentity (needs no permission), not the refused ec2:DescribeInstances
    assert advice.artefact["trust_policy"]["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert advice.artefact["instance_profile_name"] == "report-runner-instance"


def test_a_lambda_function_gets_a_function_role_and_an_ecs_task_a_task_role() -> None:
    function = _advise(_usages("lambda_function")["thumbnailer"])
    assert function.recommendation == Recommendation.FUNCTION_ROLE
    assert "lambda:GetFunctionConfiguration" in function.actions  # the API version suffix is not the action's
    assert function.artefact["trust_policy"]["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    task = _advise(_usages("ecs_task")["billing-worker"])
    assert task.recommendation == Recommendation.TASK_ROLE
    assert task.artefact["trust_policy"]["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_github_actions_with_repository_and_branch_revealed_gets_a_scoped_oidc_trust_policy() -> None:
    advice = _advise(_usages("github_actions")["webapp-deployer"])
    assert advice.recommendation == Recommendation.GITHUB_OIDC
    # CloudFormation's own call for the user is an origin of its own, not a second place of use.
    assert {o.origin for o in advice.origins} == {Origin.GITHUB_ACTIONS, Origin.AWS_SERVICE}
    assert advice.artefact["scoped"] is True
    assert advice.artefact["oidc_provider"] == {
        "url": "https://token.actions.githubusercontent.com",
        "client_id_list": ["sts.amazonaws.com"],
    }
    (statement,) = advice.artefact["trust_policy"]["Statement"]
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": "repo:acme/webapp:ref:refs/heads/main",
        }
    }
    assert _compact_length(advice.artefact["trust_policy"]) <= TRUST_POLICY_MAX_CHARS
    assert "cloudformation:UpdateStack" in advice.actions
    assert "lambda:UpdateFunctionCode" in advice.actions  # CloudFormation used the user's permission


def test_an_oidc_trust_policy_without_repository_is_a_template_with_placeholders() -> None:
    template = github_trust(ACCOUNT, None, None)
    condition = template["Statement"][0]["Condition"]
    assert condition["StringLike"] == {
        "token.actions.githubusercontent.com:sub": "repo:<OWNER>/<REPO>:ref:refs/heads/<BRANCH>"
    }
    assert condition["StringEquals"] == {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    gitlab = _advise(_usages("gitlab_ci_unscoped")["docs-publisher"])
    assert gitlab.recommendation == Recommendation.GITLAB_OIDC
    assert gitlab.artefact["scoped"] is False
    assert gitlab.artefact["trust_policy"]["Statement"][0]["Condition"]["StringLike"] == {
        "gitlab.com:sub": "project_path:<GROUP>/<PROJECT>:ref_type:branch:ref:<BRANCH>"
    }


def test_an_on_premises_caller_gets_roles_anywhere() -> None:
    advice = _advise(_usages("on_premises")["backup-agent"])
    assert advice.recommendation == Recommendation.ROLES_ANYWHERE
    assert [(o.detail, o.calls) for o in advice.origins] == [("203.0.113.40", 2), ("203.0.113.41", 1)]
    assert advice.artefact["trust_policy"]["Statement"][0]["Principal"] == {"Service": "rolesanywhere.amazonaws.com"}
    (policy,) = advice.artefact["policies"]
    assert {s["Resource"] for s in policy["Statement"]} == {"*", "arn:aws:s3:::acme-backups"}


def test_a_mixed_key_is_kept_with_each_origin_and_its_share() -> None:
    advice = _advise(_usages("mixed")["shared-tools"])
    assert advice.recommendation == Recommendation.KEEP_KEY
    assert [(o.origin, o.share) for o in advice.origins] == [(Origin.EC2, 0.75), (Origin.ELSEWHERE, 0.25)]
    assert "several places" in advice.reason and "75%" in advice.reason and "25%" in advice.reason
    assert advice.artefact == {}


def test_ambiguous_keys_are_kept_or_advised_with_the_stronger_signal() -> None:
    usages = _usages("ambiguous")
    assert _advise(usages["runner-ci"]).recommendation == Recommendation.GITHUB_OIDC
    assert _advise(usages["vpc-batch"]).recommendation == Recommendation.ROLE
    athena = _advise(usages["athena-user"])
    assert athena.recommendation == Recommendation.KEEP_KEY
    assert "no source address" in athena.reason


def test_only_a_service_acting_for_the_user_is_not_enough_to_know_the_caller() -> None:
    service_only = _usages("ambiguous")["athena-user"].model_copy(
        update={"records": _usages("ambiguous")["athena-user"].records[:1]}
    )
    advice = _advise(service_only)
    assert advice.recommendation == Recommendation.KEEP_KEY
    assert "only AWS services" in advice.reason


def test_a_key_without_recent_events_is_unused_unless_its_last_use_is_recent() -> None:
    old = _usages("on_premises")["backup-agent"]
    # The window ends before the records: they are too old to count.
    later = advise(old, RANGES, now=datetime(2027, 3, 1, tzinfo=UTC), window_days=30, account_id=ACCOUNT)
    assert later.recommendation == Recommendation.UNUSED
    assert later.calls == 0
    never = _advise(KeyUsage(user_name="idle", access_key_id="AKIAIDLE"))
    assert never.recommendation == Recommendation.UNUSED and "never used" in never.reason
    data_events_only = _advise(
        KeyUsage(
            user_name="reader",
            access_key_id="AKIAREADER",
            last_used_date=datetime(2026, 11, 30, tzinfo=UTC),
            last_used_service="s3",
        )
    )
    assert data_events_only.recommendation == Recommendation.KEEP_KEY
    assert "data events" in data_events_only.reason


def test_a_key_only_checked_with_get_caller_identity_is_unused() -> None:
    records = _usages("ec2_instance")["report-runner"].records
    only_checks = [r for r in records if r.event_name in ("GetCallerIdentity", "DescribeInstances")]
    assert {r.error_code for r in only_checks} == {"", "Client.UnauthorizedOperation"}
    advice = _advise(KeyUsage(user_name="checked", access_key_id="AKIACHECKED", records=tuple(only_checks)))
    assert advice.recommendation == Recommendation.UNUSED
    assert "need no permission" in advice.reason and advice.calls == 2


def test_an_incomplete_read_is_said_in_the_reason() -> None:
    usage = _usages("ec2_instance")["report-runner"].model_copy(update={"complete": False})
    advice = _advise(usage)
    assert advice.complete is False
    assert "not every page" in advice.reason


# --- policy size ----------------------------------------------------------------------------------------------


def _many_actions(count: int, resources_per_action: int) -> dict[str, set[str]]:
    return {
        f"service{i % 7}:Operation{i:04d}": {
            f"arn:aws:service{i % 7}:us-east-1:123456789012:thing/{i:04d}/{j}" for j in range(resources_per_action)
        }
        for i in range(count)
    }


def test_many_actions_are_split_over_managed_policies_each_within_the_size_limit() -> None:
    actions = _many_actions(300, 2)
    documents = policy_documents(actions)
    assert len(documents) > 1
    for document in documents:
        _assert_valid_policy(document)
    granted = {a for d in documents for s in d["Statement"] for a in s["Action"]}
    assert granted == set(actions)


def test_one_statement_too_long_for_one_policy_is_cut() -> None:
    # Every action on the same many resources: one statement, longer than a managed policy holds.
    shared = {f"arn:aws:s3:::bucket-{i:03d}" for i in range(250)}
    actions = {f"s3:Action{i:03d}": set(shared) for i in range(100)}
    documents = policy_documents(actions)
    assert len(documents) > 1
    for document in documents:
        _assert_valid_policy(document)
    pairs = {
        (a, r)
        for d in documents
        for s in d["Statement"]
        for a in s["Action"]
        for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    }
    assert pairs == {(a, r) for a in actions for r in shared}


def test_more_policies_than_a_role_takes_means_keep_the_key() -> None:
    records = tuple(
        TrailRecord(
            event_time=NOW,
            event_source=f"service{i % 9}.amazonaws.com",
            event_name=f"Operation{i:04d}",
            source_ip="52.1.23.45",
            resources=tuple(f"arn:aws:service{i % 9}:us-east-1:123456789012:thing/{i:04d}/{j}" for j in range(4)),
        )
        for i in range(900)
    )
    advice = _advise(KeyUsage(user_name="busy", access_key_id="AKIABUSY", records=records))
    assert advice.recommendation == Recommendation.KEEP_KEY
    assert "managed policies" in advice.reason


def test_a_resource_star_absorbs_the_arns_of_the_same_action() -> None:
    records = [
        TrailRecord(
            event_time=NOW, event_source="s3.amazonaws.com", event_name="GetBucketPolicy", resources=("arn:aws:s3:::a",)
        ),
        TrailRecord(event_time=NOW, event_source="s3.amazonaws.com", event_name="GetBucketPolicy"),
    ]
    assert observed_actions(records) == {"s3:GetBucketPolicy": {"arn:aws:s3:::a", "*"}}
    (document,) = policy_documents(observed_actions(records))
    assert document["Statement"] == [
        {"Sid": "Observed1", "Effect": "Allow", "Action": ["s3:GetBucketPolicy"], "Resource": "*"}
    ]


def test_changed_lists_the_keys_whose_recommendation_differs_from_last_run() -> None:
    advice = [_advise(u) for u in _usages("ambiguous").values()]
    previous = {"AKIAEXAMPLEAMBIGUOUS": "github_oidc", "AKIAEXAMPLEVPCENDPNT": "unused"}
    assert {a.access_key_id for a in changed(previous, advice)} == {"AKIAEXAMPLEVPCENDPNT", "AKIAEXAMPLEATHENAUSE"}
