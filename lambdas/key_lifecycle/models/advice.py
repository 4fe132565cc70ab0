"""What the prefer-roles advisor reads: a key's CloudTrail records (as LookupEvents returns them, reduced to the
fields that tell where a call came from and what it did), its last use, and AWS's published IP ranges."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from key_lifecycle.models.base import Model
from key_lifecycle.models.dates import as_utc

# An excerpt of AWS's ip-ranges.json shipped with the function (see docs/advisor.md: how to refresh it).
IP_RANGES_FILE = Path(__file__).resolve().parent / "ip_ranges.json"
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True, kw_only=True)
class TrailRecord(Model):
    """One CloudTrail management event of a key: where it came from and what it did."""

    event_time: datetime
    event_source: str  # "s3.amazonaws.com"
    event_name: str  # "PutObject"
    aws_region: str = ""
    source_ip: str = ""  # an IP, an AWS service's DNS name, or "AWS Internal"
    user_agent: str = ""
    vpc_endpoint_id: str = ""
    error_code: str = ""
    resources: tuple[str, ...] = ()  # the ARNs among LookupEvents' Resources and the record's `resources`

    @classmethod
    def from_cloudtrail(cls, record: Mapping[str, Any], resources: Iterable[str] = ()) -> TrailRecord:
        """From a CloudTrail record (LookupEvents' `CloudTrailEvent`, parsed) and LookupEvents' resource names."""
        arns = [str(name) for name in resources if str(name).startswith("arn:")]
        for resource in record.get("resources") or ():
            arn = str(resource.get("ARN") or resource.get("arn") or "") if isinstance(resource, Mapping) else ""
            if arn.startswith("arn:"):
                arns.append(arn)
        return cls(
            event_time=as_utc(datetime.fromisoformat(str(record["eventTime"]).replace("Z", "+00:00"))),
            event_source=str(record.get("eventSource") or ""),
            event_name=str(record.get("eventName") or ""),
            aws_region=str(record.get("awsRegion") or ""),
            source_ip=str(record.get("sourceIPAddress") or ""),
            user_agent=str(record.get("userAgent") or ""),
            vpc_endpoint_id=str(record.get("vpcEndpointId") or ""),
            error_code=str(record.get("errorCode") or ""),
            resources=tuple(dict.fromkeys(arns)),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyUsage(Model):
    """Everything the advisor knows of one active access key: its records over the window and its last use."""

    user_name: str
    access_key_id: str
    records: tuple[TrailRecord, ...] = ()
    last_used_date: datetime | None = None
    last_used_service: str | None = None
    last_used_region: str | None = None
    complete: bool = True  # False: the run's LookupEvents budget ran out before every page was read
    managed: bool = False


@dataclass(frozen=True, slots=True)
class IpPrefix:
    network: IpNetwork
    region: str
    service: str


@dataclass(frozen=True, slots=True, kw_only=True)
class IpRanges:
    """AWS's published IP ranges (https://ip-ranges.amazonaws.com/ip-ranges.json), or an excerpt of them."""

    create_date: datetime | None
    prefixes: tuple[IpPrefix, ...] = field(default_factory=tuple)

    @classmethod
    def parse(cls, document: Mapping[str, Any]) -> IpRanges:
        """ip-ranges.json as AWS publishes it: `createDate` "YYYY-MM-DD-hh-mm-ss", `prefixes` (`ip_prefix`) and
        `ipv6_prefixes` (`ipv6_prefix`), each with its `region` and `service`."""
        created = str(document.get("createDate") or "")
        try:
            create_date: datetime | None = as_utc(datetime.strptime(created, "%Y-%m-%d-%H-%M-%S"))
        except ValueError:
            create_date = None
        prefixes = []
        for entry in [*(document.get("prefixes") or ()), *(document.get("ipv6_prefixes") or ())]:
            text = entry.get("ip_prefix") or entry.get("ipv6_prefix")
            if not text:
                continue
            prefixes.append(
                IpPrefix(ipaddress.ip_network(str(text)), str(entry.get("region", "")), str(entry.get("service", "")))
            )
        return cls(create_date=create_date, prefixes=tuple(prefixes))

    @classmethod
    def bundled(cls) -> IpRanges:
        return cls.parse(json.loads(IP_RANGES_FILE.read_text()))

    def lookup(self, address: str) -> list[IpPrefix]:
        """Every published prefix holding `address` (AWS lists an address under AMAZON and its own service)."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return []
        return [prefix for prefix in self.prefixes if ip.version == prefix.network.version and ip in prefix.network]
