"""The data-access layer: the only code that calls AWS (IAM, Secrets Manager, STS, SNS).

Pagination, retries and error mapping live here; callers see plain values and `AwsError`.
"""

from gateways.aws import Aws
from gateways.errors import AwsError
from gateways.snapshot import read_snapshot

__all__ = ["Aws", "AwsError", "read_snapshot"]
