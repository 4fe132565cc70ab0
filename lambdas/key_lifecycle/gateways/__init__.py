"""The data-access layer: the only code that calls AWS (IAM, Secrets Manager, STS, SNS).

Pagination, retries and error mapping live here; callers see plain values and `AwsError`.
"""

from key_lifecycle.gateways.aws import Aws
from key_lifecycle.gateways.errors import AwsError
from key_lifecycle.gateways.snapshot import read_snapshot

__all__ = ["Aws", "AwsError", "read_snapshot"]
