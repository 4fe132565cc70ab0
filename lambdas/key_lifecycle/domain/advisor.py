"""The prefer-roles advisor: where each access key is used from (its CloudTrail records' source address, user agent,
event source and VPC endpoint) and the role, OIDC federation or Roles Anywhere setup that could replace it, with a
ready policy of exactly the actions and resources observed. Pure: records, last use and IP ranges in, advice out."""

from __future__ import annotations

import ipaddress
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from key_lifecycle.models.advice import IpRanges, KeyUsage, TrailRecord
from key_lifecycle.models.dates import as_utc, format_timestamp, whole_days

# IAM quotas (IAM User Guide, "IAM and AWS STS quotas"): a customer managed policy holds at most 6,144 characters
# (white space not counted), a role's trust policy 2,048 by default, and a role takes 10 managed policies by default.
MANAGED_POLICY_MAX_CHARS = 6144
TRUST_POLICY_MAX_CHARS = 2048
MAX_MANAGED_POLICIES_PER_ROLE = 10
GITHUB_ISSUER = "token.actions.githubusercontent.com"
GITLAB_ISSUER = "gitlab.com"
# Calls that need no permission (sts:GetCallerIdentity works even when every action is denied).
NO_PERMISSION_NEEDED = frozenset({"sts:GetCallerIdentity"})
# Refused calls: the key did not have the permission either, so the role needs none.
DENIED_ERRORS = ("AccessDenied", "UnauthorizedOperation", "Client.UnauthorizedOperation", "AccessDeniedException")
# CloudTrail event names that are not the IAM action's name.
ACTION_OF_EVENT = {"s3:ListBuckets": "s3:ListAllMyBuckets"}
_API_VERSION_SUFFIX = re.compile(r"\d{8}(v\d+)?$")  # Lambda's "Invoke20150331", "UpdateFunctionCode20150331v2"
# Private networks (RFC 1918, RFC 6598, IPv6 unique local): a VPC's own addresses.
_VPC_NETWORKS = tuple(
    ipaddress.ip_network(text)
    for text in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
_EXEC_ENV = re.compile(r"exec-env/(\S+)")
# The OIDC subjects a CI job's tools may put in the user agent (Terraform's TF_APPEND_USER_AGENT, an SDK's
# user_agent_extra): exactly the `sub` claim the provider writes into the job's token.
_GITHUB_SUBJECT = re.compile(r"repo:([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+):ref:refs/heads/([A-Za-z0-9_./-]+)")
_GITLAB_SUBJECT = re.compile(r"project_path:([A-Za-z0-9_./-]+):ref_type:branch:ref:([A-Za-z0-9_./-]+)")


class Origin(StrEnum):
    AWS_SERVICE = "aws_service"  # an AWS service called for the key's owner (CloudFormation, Athena...)
    LAMBDA = "lambda"
    ECS = "ecs"
    EC2 = "ec2"  # an address of EC2's published ranges
    AWS_NETWORK = "aws_network"  # an AWS address (or a VPC endpoint, a private address) of no known compute
    GITHUB_ACTIONS = "github_actions"
    GITLAB_CI = "gitlab_ci"
    BITBUCKET_PIPELINES = "bitbucket_pipelines"
    CIRCLECI = "circleci"
    ELSEWHERE = "elsewhere"  # on premises or a workstation
    UNKNOWN = "unknown"  # no source address to judge


CATEGORY = {
    Origin.AWS_SERVICE: "aws_service",
    Origin.LAMBDA: "inside_aws",
    Origin.ECS: "inside_aws",
    Origin.EC2: "inside_aws",
    Origin.AWS_NETWORK: "inside_aws",
    Origin.GITHUB_ACTIONS: "ci_oidc",
    Origin.GITLAB_CI: "ci_oidc",
    Origin.BITBUCKET_PIPELINES: "ci_oidc",
    Origin.CIRCLECI: "ci_oidc",
    Origin.ELSEWHERE: "elsewhere",
    Origin.UNKNOWN: "unknown",
}
# User-agent marks of the CI systems that federate with AWS by OIDC (case-insensitive substrings).
CI_MARKS: tuple[tuple[Origin, tuple[str, ...]], ...] = (
    (Origin.GITHUB_ACTIONS, ("github-actions", "github_actions", "githubactions")),
    (Origin.GITLAB_CI, ("gitlab-ci", "gitlab_ci", "gitlab-runner")),
    (Origin.BITBUCKET_PIPELINES, ("bitbucket-pipelines", "bitbucket_pipelines")),
    (Origin.CIRCLECI, ("circleci",)),
)


class Recommendation(StrEnum):
    FUNCTION_ROLE = "function_role"
    TASK_ROLE = "task_role"
    INSTANCE_PROFILE = "instance_profile"
    ROLE = "role"  # inside AWS, the compute unknown
    GITHUB_OIDC = "github_oidc"
    GITLAB_OIDC = "gitlab_oidc"
    CI_OIDC = "ci_oidc"  # Bitbucket Pipelines, CircleCI: an OIDC provider of the operator's workspace
    ROLES_ANYWHERE = "roles_anywhere"
    UNUSED = "unused"
    KEEP_KEY = "keep_key"


@dataclass(frozen=True, slots=True)
class Classified:
    origin: Origin
    detail: str  # the region, exec-env, CI repository... that identifies the place


@dataclass(frozen=True, slots=True)
class OriginShare:
    origin: Origin
    detail: str
    calls: int
    share: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "origin": self.origin.value,
            "category": CATEGORY[self.origin],
            "detail": self.detail,
            "calls": self.calls,
            "share": round(self.share, 4),
        }


@dataclass(frozen=True, slots=True)
class Advice:
    user_name: str
    access_key_id: str
    recommendation: Recommendation
    reason: str
    origins: tuple[OriginShare, ...] = ()
    calls: int = 0
    actions: tuple[str, ...] = ()
    artefact: dict[str, Any] = field(default_factory=dict)
    complete: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_name": self.user_name,
            "access_key_id": self.access_key_id,
            "recommendation": self.recommendation.value,
            "reason": self.reason,
            "calls": self.calls,
            "origins": [o.as_dict() for o in self.origins],
            "actions": list(self.actions),
            "artefact": self.artefact,
            "complete": self.complete,
        }


# --- classification ------------------------------------------------------------------------------------------


def _is_service_name(value: str) -> bool:
    return value == "AWS Internal" or value.endswith(".amazonaws.com")


def classify(record: TrailRecord, ranges: IpRanges) -> Classified:
    """The origin of one call. The user agent is the strongest mark (a CI job or a Lambda function names itself
    there, wherever its address lies); then the source address: an AWS service's name, a VPC endpoint or private
    address, an address in AWS's ranges, anything else is outside AWS."""
    agent = record.user_agent
    lowered = agent.lower()
    if _is_service_name(record.source_ip) or _is_service_name(agent):
        service = record.source_ip if record.source_ip.endswith(".amazonaws.com") else agent
        return Classified(Origin.AWS_SERVICE, service if service.endswith(".amazonaws.com") else "AWS Internal")
    for origin, marks in CI_MARKS:
        if any(mark in lowered for mark in marks):
            return Classified(origin, _ci_detail(origin, agent))
    exec_env = _EXEC_ENV.search(agent)
    if exec_env:
        env = exec_env.group(1)
        if env.startswith("AWS_Lambda"):
            return Classified(Origin.LAMBDA, f"{env} in {record.aws_region}".strip())
        if env.startswith("AWS_ECS"):
            return Classified(Origin.ECS, f"{env} in {record.aws_region}".strip())
    if record.vpc_endpoint_id:
        return Classified(Origin.AWS_NETWORK, f"VPC endpoint {record.vpc_endpoint_id}")
    try:
        address = ipaddress.ip_address(record.source_ip)
    except ValueError:
        return Classified(Origin.UNKNOWN, record.source_ip or "no source address")
    if any(address in network for network in _VPC_NETWORKS if network.version == address.version):
        # CloudTrail shows a private address only for a call through a VPC endpoint.
        return Classified(Origin.AWS_NETWORK, f"private address {record.source_ip}")
    prefixes = ranges.lookup(record.source_ip)
    for prefix in prefixes:
        if prefix.service == "EC2":
            return Classified(Origin.EC2, f"EC2 in {prefix.region}")
    if prefixes:
        return Classified(Origin.AWS_NETWORK, f"{prefixes[0].service} in {prefixes[0].region}")
    return Classified(Origin.ELSEWHERE, record.source_ip)


def _ci_detail(origin: Origin, agent: str) -> str:
    if origin == Origin.GITHUB_ACTIONS and (found := _GITHUB_SUBJECT.search(agent)):
        return f"{found.group(1)}@{found.group(2)}"
    if origin == Origin.GITLAB_CI and (found := _GITLAB_SUBJECT.search(agent)):
        return f"{found.group(1)}@{found.group(2)}"
    return ""


def origin_shares(records: Sequence[TrailRecord], ranges: IpRanges) -> list[OriginShare]:
    """Each distinct origin (kind and detail) with its calls and share, most calls first."""
    counts = Counter(classify(record, ranges) for record in records)
    total = sum(counts.values())
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].origin.value, item[0].detail))
    return [OriginShare(c.origin, c.detail, n, n / total) for c, n in ordered]


# --- the policy of what was observed -------------------------------------------------------------------------


def iam_action(record: TrailRecord) -> str:
    prefix = record.event_source.split(".", 1)[0]
    name = _API_VERSION_SUFFIX.sub("", record.event_name)
    action = f"{prefix}:{name}"
    return ACTION_OF_EVENT.get(action, action)


def observed_actions(records: Iterable[TrailRecord]) -> dict[str, set[str]]:
    """Every action the key was allowed to make, with the resources it was made on ("*" when the record names
    none: many actions take no resource, and LookupEvents names no resource for others)."""
    actions: dict[str, set[str]] = defaultdict(set)
    for record in records:
        if record.error_code in DENIED_ERRORS or not record.event_source or not record.event_name:
            continue
        action = iam_action(record)
        if action in NO_PERMISSION_NEEDED:
            continue
        actions[action].update(record.resources or ("*",))
    return actions


def _compact(document: dict[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


def policy_documents(actions: dict[str, set[str]]) -> list[dict[str, Any]]:
    """The observed actions as identity policies: one statement per set of resources, listing its actions; split
    over as many managed policies as the 6,144-character limit needs. Never a wildcard action."""
    by_resources: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for action, observed in sorted(actions.items()):
        # A resource "*" already covers every ARN: the narrower ones add nothing to that action's statement.
        key = ("*",) if "*" in observed else tuple(sorted(observed))
        by_resources[key].append(action)
    statements: list[dict[str, Any]] = []
    for arns, names in sorted(by_resources.items(), key=lambda item: (item[1][0], item[0])):
        statements.append(
            {
                "Sid": f"Observed{len(statements) + 1}",
                "Effect": "Allow",
                "Action": sorted(names),
                "Resource": arns[0] if len(arns) == 1 else list(arns),
            }
        )
    documents: list[dict[str, Any]] = []
    for statement in statements:
        for piece in _fit(statement):
            if documents and len(_compact(_with(documents[-1], piece))) <= MANAGED_POLICY_MAX_CHARS:
                documents[-1] = _with(documents[-1], piece)
            else:
                documents.append({"Version": "2012-10-17", "Statement": [piece]})
    return documents


def _with(document: dict[str, Any], statement: dict[str, Any]) -> dict[str, Any]:
    return {**document, "Statement": [*document["Statement"], statement]}


def _fit(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """A statement too long for one policy, cut into several of fewer actions (or fewer resources)."""
    if len(_compact({"Version": "2012-10-17", "Statement": [statement]})) <= MANAGED_POLICY_MAX_CHARS:
        return [statement]
    for name in ("Action", "Resource"):
        values = statement[name]
        if isinstance(values, list) and len(values) > 1:
            half = len(values) // 2
            first = {**statement, "Sid": statement["Sid"] + "a", name: values[:half]}
            second = {**statement, "Sid": statement["Sid"] + "b", name: values[half:]}
            return _fit(first) + _fit(second)
    raise ValueError("one action on one resource is longer than a managed policy")


# --- trust policies ------------------------------------------------------------------------------------------


def _service_trust(service: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def github_trust(account_id: str, repository: str | None, branch: str | None) -> dict[str, Any]:
    """A role's trust policy for GitHub Actions' OIDC tokens of one repository and branch: `sub` is
    `repo:<owner>/<repo>:ref:refs/heads/<branch>` (StringEquals when both are known, a StringLike template with
    placeholders otherwise) and `aud` the audience configure-aws-credentials asks for, sts.amazonaws.com."""
    subject = f"repo:{repository or '<OWNER>/<REPO>'}:ref:refs/heads/{branch or '<BRANCH>'}"
    operator = "StringEquals" if repository and branch else "StringLike"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{GITHUB_ISSUER}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com"},
                    operator: {f"{GITHUB_ISSUER}:sub": subject},
                }
                if operator == "StringLike"
                else {"StringEquals": {f"{GITHUB_ISSUER}:aud": "sts.amazonaws.com", f"{GITHUB_ISSUER}:sub": subject}},
            }
        ],
    }


def gitlab_trust(account_id: str, project: str | None, branch: str | None) -> dict[str, Any]:
    """GitLab.com's OIDC tokens of one project and branch: `sub` is
    `project_path:<group>/<project>:ref_type:branch:ref:<branch>`, `aud` the job's `id_tokens` audience."""
    subject = f"project_path:{project or '<GROUP>/<PROJECT>'}:ref_type:branch:ref:{branch or '<BRANCH>'}"
    operator = "StringEquals" if project and branch else "StringLike"
    conditions: dict[str, dict[str, str]] = {"StringEquals": {f"{GITLAB_ISSUER}:aud": "https://gitlab.com"}}
    conditions.setdefault(operator, {})[f"{GITLAB_ISSUER}:sub"] = subject
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account_id}:oidc-provider/{GITLAB_ISSUER}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": conditions,
            }
        ],
    }


def roles_anywhere_trust() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "rolesanywhere.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"],
                "Condition": {"ArnEquals": {"aws:SourceArn": "<TRUST_ANCHOR_ARN>"}},
            }
        ],
    }


# --- the recommendation --------------------------------------------------------------------------------------


def _role_name(user_name: str, suffix: str) -> str:
    return f"{user_name[: 64 - len(suffix) - 1]}-{suffix}"


def _artefact(
    kind: Recommendation, usage: KeyUsage, account_id: str, policies: list[dict[str, Any]], detail: str
) -> dict[str, Any]:
    base: dict[str, Any] = {"policies": policies}
    if kind == Recommendation.FUNCTION_ROLE:
        return {
            "role_name": _role_name(usage.user_name, "function"),
            "trust_policy": _service_trust("lambda.amazonaws.com"),
            **base,
        }
    if kind == Recommendation.TASK_ROLE:
        return {
            "role_name": _role_name(usage.user_name, "task"),
            "trust_policy": _service_trust("ecs-tasks.amazonaws.com"),
            **base,
        }
    if kind in (Recommendation.INSTANCE_PROFILE, Recommendation.ROLE):
        return {
            "role_name": _role_name(usage.user_name, "instance"),
            "instance_profile_name": _role_name(usage.user_name, "instance"),
            "trust_policy": _service_trust("ec2.amazonaws.com"),
            **base,
        }
    if kind in (Recommendation.GITHUB_OIDC, Recommendation.GITLAB_OIDC):
        github = kind == Recommendation.GITHUB_OIDC
        repository, _, branch = detail.partition("@")
        trust = (github_trust if github else gitlab_trust)(account_id, repository or None, branch or None)
        return {
            "role_name": _role_name(usage.user_name, "ci"),
            "oidc_provider": {
                "url": f"https://{GITHUB_ISSUER if github else GITLAB_ISSUER}",
                "client_id_list": ["sts.amazonaws.com" if github else "https://gitlab.com"],
            },
            "trust_policy": trust,
            "scoped": bool(repository and branch),
            **base,
        }
    if kind == Recommendation.CI_OIDC:
        return {
            "role_name": _role_name(usage.user_name, "ci"),
            "oidc_provider": {"url": "<YOUR CI's OIDC ISSUER URL>", "client_id_list": ["<AUDIENCE>"]},
            "trust_policy_template": "sts:AssumeRoleWithWebIdentity from the provider, `sub` scoped to one pipeline",
            **base,
        }
    if kind == Recommendation.ROLES_ANYWHERE:
        return {
            "role_name": _role_name(usage.user_name, "anywhere"),
            "trust_policy": roles_anywhere_trust(),
            "steps": [
                "create a trust anchor on your certificate authority (AWS Private CA or your own)",
                "create a profile naming this role",
                "give the host a certificate and use aws_signing_helper as its credential_process",
            ],
            **base,
        }
    return {}


_SINGLE = {
    Origin.LAMBDA: (
        Recommendation.FUNCTION_ROLE,
        "every call came from a Lambda function ({d}): give the function a role",
    ),
    Origin.ECS: (Recommendation.TASK_ROLE, "every call came from an ECS task ({d}): give the task a role"),
    Origin.EC2: (
        Recommendation.INSTANCE_PROFILE,
        "every call came from an EC2 address ({d}): give the instance a role",
    ),
    Origin.AWS_NETWORK: (Recommendation.ROLE, "every call came from inside AWS ({d}): give the caller a role"),
    Origin.GITHUB_ACTIONS: (Recommendation.GITHUB_OIDC, "every call came from GitHub Actions{d}: federate by OIDC"),
    Origin.GITLAB_CI: (Recommendation.GITLAB_OIDC, "every call came from GitLab CI{d}: federate by OIDC"),
    Origin.BITBUCKET_PIPELINES: (Recommendation.CI_OIDC, "every call came from Bitbucket Pipelines: federate by OIDC"),
    Origin.CIRCLECI: (Recommendation.CI_OIDC, "every call came from CircleCI: federate by OIDC"),
    Origin.ELSEWHERE: (Recommendation.ROLES_ANYWHERE, "every call came from outside AWS ({d}): use IAM Roles Anywhere"),
}


def advise(usage: KeyUsage, ranges: IpRanges, *, now: datetime, window_days: int, account_id: str) -> Advice:
    """The recommendation for one key from its records over the last `window_days` and its last use."""
    now = as_utc(now)
    since = now - timedelta(days=window_days)
    records = [r for r in usage.records if since <= as_utc(r.event_time) <= now]
    shares = origin_shares(records, ranges)
    actions = observed_actions(records)

    def result(kind: Recommendation, reason: str, artefact: dict[str, Any] | None = None) -> Advice:
        return Advice(
            user_name=usage.user_name,
            access_key_id=usage.access_key_id,
            recommendation=kind,
            reason=reason,
            origins=tuple(shares),
            calls=len(records),
            actions=tuple(sorted(actions)),
            artefact=artefact or {},
            complete=usage.complete,
        )

    last_used = as_utc(usage.last_used_date) if usage.last_used_date else None
    if not records:
        if last_used is not None and last_used >= since:
            return result(
                Recommendation.KEEP_KEY,
                f"used {format_timestamp(last_used)} ({usage.last_used_service or 'unknown service'}) but no "
                f"management event in {window_days} days in this region's history: its calls are data events (S3 "
                "objects, Lambda invokes...), which LookupEvents does not return, or were made in another region; "
                "nothing to base a role on",
            )
        seen = f"last used {format_timestamp(last_used)}" if last_used else "never used"
        return result(Recommendation.UNUSED, f"no call in the last {window_days} days ({seen}): delete the key")
    if not actions:
        # sts:GetCallerIdentity (a check that the key works, such as the stack's own verification) does no work.
        return result(
            Recommendation.UNUSED,
            f"in {window_days} days only calls that need no permission or were refused: delete the key",
        )
    # The calls an AWS service made for the owner follow from the owner's own calls: the caller is elsewhere.
    callers = [s for s in shares if s.origin != Origin.AWS_SERVICE]
    if not callers:
        return result(
            Recommendation.KEEP_KEY, "only AWS services acting for the user were seen; the caller itself is not visible"
        )
    if any(s.origin == Origin.UNKNOWN for s in callers):
        return result(Recommendation.KEEP_KEY, "some calls carry no source address to judge; no role fits for sure")
    origin = callers[0].origin
    details = sorted({s.detail for s in callers if s.detail})
    ci = origin in (Origin.GITHUB_ACTIONS, Origin.GITLAB_CI)
    if len({s.origin for s in callers}) > 1 or (ci and len(details) > 1):
        places = ", ".join(f"{s.origin.value} {s.detail}".strip() + f" {s.share:.0%}" for s in callers)
        return result(
            Recommendation.KEEP_KEY,
            f"used from several places ({places}): one role cannot replace it; give each consumer its own key, "
            "then follow each one's recommendation",
        )
    # One CI repository and branch (some calls may not name it), or one kind of place in one or more regions.
    detail = ", ".join(details[:3]) + (f" and {len(details) - 3} more" if len(details) > 3 else "")
    policies = policy_documents(actions)
    if len(policies) > MAX_MANAGED_POLICIES_PER_ROLE:
        return result(
            Recommendation.KEEP_KEY,
            f"the observed actions need {len(policies)} managed policies, more than a role takes by default",
        )
    kind, template = _SINGLE[origin]
    reason = template.format(d=(f" ({detail})" if detail else "") if ci else detail)
    artefact = _artefact(kind, usage, account_id, policies, detail)
    if not usage.complete:
        reason += " (not every page of events was read this run: the policy may miss actions)"
    return result(kind, reason, artefact)


def advise_all(
    usages: Iterable[KeyUsage], ranges: IpRanges, *, now: datetime, window_days: int, account_id: str
) -> list[Advice]:
    return [
        advise(u, ranges, now=now, window_days=window_days, account_id=account_id)
        for u in sorted(usages, key=lambda u: (u.user_name.lower(), u.access_key_id))
    ]


def ranges_age_days(ranges: IpRanges, now: datetime) -> int | None:
    """Days since AWS published the ranges (0 for a clock behind the file's date, as the local account's may be)."""
    return max(0, whole_days(ranges.create_date, now)) if ranges.create_date else None


def changed(previous: dict[str, str], current: Sequence[Advice]) -> list[Advice]:
    """The advice whose recommendation differs from the previous run's (`previous`: key id → recommendation)."""
    return [a for a in current if previous.get(a.access_key_id) != a.recommendation.value]
