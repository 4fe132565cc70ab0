"""The local emulated AWS account: deploy the stack with the real CDK CLI into moto running in this
process, then run the deployed functions as deployed, on their schedules, on a virtual clock."""

from local_account.account import LocalAccount, LocalAccountError, Timings
from local_account.deployed import DeployedSchedule
from local_account.organization import LocalOrganization, Member
from local_account.runtime import DeployedFunction, Invocation
from local_account.schedules import ScheduleExpression, ScheduleExpressionError

__all__ = [
    "DeployedFunction",
    "DeployedSchedule",
    "Invocation",
    "LocalAccount",
    "LocalAccountError",
    "LocalOrganization",
    "Member",
    "ScheduleExpression",
    "ScheduleExpressionError",
    "Timings",
]
