"""Consumers of several origins for the prefer-roles advisor: IAM users outside the managed path (so the managed
users' story and its figures stay as they are), each with one key that a program uses from one place (or, for the
mixed one, two), through the account's recorded CloudTrail with that place's source address and user agent.

`make advise`, the demo and tests/e2e_advisor use them; each says which recommendation it should get."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from local_account.trail import Origin

CONSUMER_PATH = "/apps/"
BUCKET = "acme-backups"

_CLI = (
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.1.109-118.189.amzn2023.x86_64 md/arch#x86_64 "
    "lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#amzn.2023 md/prompt#off"
)
_WORKSTATION = (
    "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/macos#23.5.0 md/arch#arm64 lang/python#3.11.9 md/pyimpl#CPython "
    "cfg/retry-mode#standard md/installer#source md/prompt#off"
)
# Terraform in a GitHub Actions job, its TF_APPEND_USER_AGENT carrying the job's OIDC subject.
_GITHUB = (
    "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 "
    "aws-sdk-go-v2/1.32.2 ua/2.1 os/linux lang/go#1.23.2 md/GOOS#linux md/GOARCH#amd64 "
    "github-actions repo:acme/webapp:ref:refs/heads/main"
)
EC2 = Origin(source_ip="52.1.23.45", user_agent=_CLI)  # an address of EC2's us-east-1 range (bundled excerpt)
GITHUB_ACTIONS = Origin(source_ip="20.57.1.2", user_agent=_GITHUB)
ON_PREMISES = Origin(source_ip="203.0.113.40", user_agent=_WORKSTATION)


@dataclass(frozen=True)
class Consumer:
    user_name: str
    expected: str  # the recommendation the advisor should give
    statements: tuple[dict[str, Any], ...]  # its user's inline policy


CONSUMERS = (
    Consumer(
        "report-runner",
        "instance_profile",
        ({"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "dynamodb:ListTables"], "Resource": "*"},),
    ),
    Consumer(
        "webapp-deployer",
        "github_oidc",
        ({"Effect": "Allow", "Action": ["cloudformation:ListStacks", "s3:ListAllMyBuckets"], "Resource": "*"},),
    ),
    Consumer(
        "backup-agent",
        "roles_anywhere",
        (
            {"Effect": "Allow", "Action": ["s3:ListAllMyBuckets"], "Resource": "*"},
            {"Effect": "Allow", "Action": ["s3:GetBucketLocation"], "Resource": f"arn:aws:s3:::{BUCKET}"},
        ),
    ),
    Consumer(
        "shared-tools",
        "keep_key",
        ({"Effect": "Allow", "Action": ["s3:ListAllMyBuckets", "dynamodb:ListTables"], "Resource": "*"},),
    ),
)


def seed(account: Any) -> dict[str, tuple[str, str]]:
    """Create each consumer's user, policy and key (as the administrator). Returns user → (key id, secret)."""
    iam = account.admin_client("iam")
    account.admin_client("s3").create_bucket(Bucket=BUCKET)
    keys = {}
    for consumer in CONSUMERS:
        iam.create_user(UserName=consumer.user_name, Path=CONSUMER_PATH)
        document = {"Version": "2012-10-17", "Statement": list(consumer.statements)}
        iam.put_user_policy(UserName=consumer.user_name, PolicyName="app", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=consumer.user_name)["AccessKey"]
        keys[consumer.user_name] = (key["AccessKeyId"], key["SecretAccessKey"])
    return keys


def work(account: Any, keys: dict[str, tuple[str, str]]) -> int:
    """One day's work of every consumer, each call recorded by CloudTrail from the consumer's place. Returns the
    number of calls made."""
    calls = 0

    def trail(user: str, origin: Origin) -> Any:
        return account.cloudtrail(keys[user], origin=origin)

    with trail("report-runner", EC2) as t:
        t.client("s3").list_buckets()
        t.client("dynamodb").list_tables()
        t.client("sts").get_caller_identity()
        calls += 3
    with trail("webapp-deployer", GITHUB_ACTIONS) as t:
        t.client("cloudformation").list_stacks()
        t.client("s3").list_buckets()
        calls += 2
    with trail("backup-agent", ON_PREMISES) as t:
        t.client("s3").list_buckets()
        t.client("s3").get_bucket_location(Bucket=BUCKET)
        calls += 2
    # Mostly from the EC2 instance, sometimes from a workstation.
    with trail("shared-tools", EC2) as t:
        t.client("dynamodb").list_tables()
        t.client("dynamodb").list_tables()
        t.client("s3").list_buckets()
        calls += 3
    with trail("shared-tools", ON_PREMISES) as t:
        t.client("s3").list_buckets()
        calls += 1
    return calls
