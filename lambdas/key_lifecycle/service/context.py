"""What every run of a function works with (settings, clients, the clock, dry run, the time budget) and what it
decides (the report, the snapshot it was made from, whom it concerns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from key_lifecycle.gateways.aws import Aws
from key_lifecycle.models.report import Report
from key_lifecycle.models.settings import SINGLE_ACCOUNT, OrganizationSettings, Settings
from key_lifecycle.models.snapshot import AccountSnapshot
from key_lifecycle.service.budget import UNLIMITED, Budget


@dataclass(frozen=True)
class Context:
    settings: Settings
    aws: Aws
    now: datetime  # read per invocation, never cached: schedules and the virtual clock move it
    dry_run: bool
    budget: Budget = UNLIMITED  # the Lambda time left (a run near its timeout leaves the rest to the next run)
    organization: OrganizationSettings = SINGLE_ACCOUNT  # organization mode is off unless configured


@dataclass
class Decision:
    report: Report
    snapshot: AccountSnapshot | None = None
    owner: str | None = None  # the owner the run concerns, when the request names one
    kind: str | None = None  # the notification's `kind` attribute (subscriptions filter on it); none for run reports
    # The source of conditions this run reports in full (a scheduled run over the whole account: "reconcile",
    # "rotate", "cleanup", "audit"): its warnings are compared with the ones already told. None: a manual request.
    source: str | None = None
    notify: bool = True  # False: the run report is not notified (an organization run notifies its aggregate once)
