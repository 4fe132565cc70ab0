"""The stack's S3 buckets share one baseline: SSE-S3, TLS only, no public access, no ACLs, versioned, retained; each
data bucket logs its server access to an access-log bucket of its own, which cannot log into itself."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks.nag import acknowledge, acknowledge_checkov


def private_bucket(scope: Construct, construct_id: str, **extra: Any) -> s3.Bucket:
    """A bucket with the baseline; `extra` adds lifecycle rules, access logging and the like."""
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        # S3 server access logging is granted by the log bucket's policy (logging.s3.amazonaws.com; feature flag
        # serverAccessLogsUseBucketPolicy), not the log-delivery ACL: ACLs can stay disabled.
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        versioned=True,
        removal_policy=RemovalPolicy.RETAIN,
        **extra,
    )


def access_log_bucket(scope: Construct, construct_id: str, *, logs_of: str, **extra: Any) -> s3.Bucket:
    """The bucket that holds `logs_of`'s server access logs, its own logging acknowledged (it would loop)."""
    bucket = private_bucket(scope, construct_id, **extra)
    reason = f"This bucket holds the server access logs of the {logs_of}; logging it into itself would loop."
    acknowledge(bucket, "S1", reason)
    acknowledge_checkov(bucket, "CKV_AWS_18", reason)
    return bucket
