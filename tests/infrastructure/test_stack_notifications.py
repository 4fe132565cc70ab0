"""The notification topic's access policy: CloudWatch alarms of this account may publish, and only over TLS."""

from __future__ import annotations

from tests.support.stack_template import Synth, render


def test_cloudwatch_alarms_of_this_account_may_publish_to_the_topic(default_synth: Synth) -> None:
    # A topic policy replaces SNS's default policy: without an allow for cloudwatch.amazonaws.com, CloudWatch
    # may not publish, and an alarm changes state without a message reaching any subscriber.
    policy = render(default_synth.properties("AWS::SNS::TopicPolicy", "NotificationsTopicPolicy"))
    topic = default_synth.ref("AWS::SNS::Topic", "NotificationsTopic")
    statements = policy["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "CloudWatchAlarmsOfThisAccountPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": "${AWS::AccountId}"},
                "ArnLike": {
                    "aws:SourceArn": "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:*"
                },
            },
        }
    ]
    # The TLS-only deny stays, for every principal
    denies = [s for s in statements if s["Effect"] == "Deny"]
    assert len(denies) == 1
    assert denies[0]["Principal"] in ("*", {"AWS": "*"})
    assert denies[0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_scheduled_functions_alone_may_read_and_record_open_conditions_in_their_key_space(
    default_synth: Synth,
) -> None:
    # Given the policy that lets a function keep the open conditions it notified
    policy = render(default_synth.properties("AWS::IAM::ManagedPolicy", "UserLocksOpenConditionsPolicy"))
    # Then it allows reading and writing items of the lock table under the open-conditions/ prefix only
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["dynamodb:GetItem", "dynamodb:PutItem"]
    assert statement["Resource"] == default_synth.arn("AWS::DynamoDB::Table", "UserLocksTable")
    # (the hub's own conditions, and each member account's under its account id in organization mode)
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["open-conditions/*", "*/open-conditions/*"]}
    }
    # And it is attached to the three functions whose scheduled runs notify, not to the change detection
    roles = sorted(
        role["Ref"]
        for role in default_synth.properties("AWS::IAM::ManagedPolicy", "UserLocksOpenConditionsPolicy")["Roles"]
    )
    expected = sorted(
        default_synth.logical_id("AWS::IAM::Role", f"Functions{name}Role")
        for name in ("CreateKeys", "RotateKeys", "CleanupUsers")
    )
    assert roles == expected


def test_security_hub_findings_are_off_by_default_and_on_import_only_this_accounts_findings(
    default_synth: Synth, variant_synth: Synth
) -> None:
    # Given the default context (off) and one with security_hub_findings on
    assert not [k for k in default_synth.of_type("AWS::IAM::ManagedPolicy") if k.startswith("SecurityHubFindings")]
    policy = render(variant_synth.properties("AWS::IAM::ManagedPolicy", "SecurityHubFindingsImportPolicy"))
    # Then the three scheduled functions may import findings, of this account only, and nothing else
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == "securityhub:BatchImportFindings"
    assert statement["Condition"] == {"StringEquals": {"securityhub:TargetAccount": "${AWS::AccountId}"}}
    roles = sorted(
        role["Ref"]
        for role in variant_synth.properties("AWS::IAM::ManagedPolicy", "SecurityHubFindingsImportPolicy")["Roles"]
    )
    expected = sorted(
        variant_synth.logical_id("AWS::IAM::Role", f"Functions{name}Role")
        for name in ("CreateKeys", "RotateKeys", "CleanupUsers")
    )
    assert roles == expected
    # And the functions are told to
    function = variant_synth.properties("AWS::Lambda::Function", "FunctionsRotateKeysFunction")
    assert function["Environment"]["Variables"]["SECURITY_HUB_FINDINGS"] == "true"


def test_the_create_function_reads_only_the_advisors_item_through_a_managed_policy(
    default_synth: Synth, organization_synth: Synth
) -> None:
    for synth in (default_synth, organization_synth):
        # Given the policy that lets the inventory report and the audit show the advisor's last recommendations
        properties = synth.properties("AWS::IAM::ManagedPolicy", "UserLocksAdvisorMemoryReadPolicy")
        (statement,) = render(properties["PolicyDocument"]["Statement"])
        # Then it allows exactly GetItem of the advisor's item (organization mode: one per account), nothing else
        assert statement["Effect"] == "Allow" and statement["Action"] == "dynamodb:GetItem"
        assert statement["Resource"] == synth.arn("AWS::DynamoDB::Table", "UserLocksTable")
        assert statement["Condition"] == {
            "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["advisor/state", "*/advisor/state"]}
        }
        # And it is attached to the create function's role only (its inline policy is full in organization mode)
        roles = [role["Ref"] for role in properties["Roles"]]
        assert roles == [synth.logical_id("AWS::IAM::Role", "FunctionsCreateKeysRole")]
        assert "ReadTheAdvisorRecommendations" not in {s["Sid"] for s in synth.function_statements("create_keys")}
