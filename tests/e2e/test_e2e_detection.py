"""Seeing everything, as deployed: a key made by hand on a managed user is caught by CloudTrail and the change rule
(the stack in eu-west-1, IAM's events forwarded from us-east-1 by the forwarding stack) and deactivated, the root
key and old unmanaged keys show up in every audit, and each deactivation, deletion and expiry of the year was
announced to its owner once per warning window before it happened."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from key_lifecycle.service.notifications import FOREWARN_TEXT
from local_account import Invocation
from local_account.trail import Trail, caller_identity, management_event
from tests.support.cloudtrail import cloudtrail_event

from .conftest import OUT_OF_SCOPE, OWNER, REGION, ROTATED, START, Notification, Year, out_of_scope_state

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

HAND_KEYED = "hand-keyed"
FOREWARN_DAYS = (7, 1)  # the stack's default `forewarn_days`
AUDIT_EVENT = {"action": "audit"}


def _key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON document (list items as `[]`): its shape, whatever its values."""
    if isinstance(value, dict):
        paths = set()
        for key, item in value.items():
            paths |= {f"{prefix}.{key}"} | _key_paths(item, f"{prefix}.{key}")
        return paths
    if isinstance(value, list):
        return set().union(*(_key_paths(item, prefix + "[]") for item in value)) if value else set()
    return set()


# --- a key made by hand on a managed user ---------------------------------------------------------------------


@dataclass
class HandMadeKey:
    stack_key: str  # the key the stack created and stored
    hand_key: str  # the key the administrator created outside the stack
    trail: Trail
    notifications: list[Notification]


@pytest.fixture(scope="module")
def hand_made_key(year: Year) -> HandMadeKey:
    """A managed user made by the manual create, then a second key created for it by the administrator through
    a client that CloudTrail records; the event goes to whatever the deployed rule targets."""
    account = year.account
    assert year.inbox is not None
    created = account.invoke(
        "create_keys", {"action": "create_user", "user_name": HAND_KEYED, "owner": OWNER, "ttl_days": 30}
    )
    assert created["verification"] == "verified", created
    year.inbox.drain()  # the create's own notification is not what the tests look for
    with account.cloudtrail() as trail:
        made = trail.client("iam").create_access_key(UserName=HAND_KEYED)["AccessKey"]
    return HandMadeKey(created["access_key_id"], made["AccessKeyId"], trail, year.inbox.drain())


def test_a_key_created_by_hand_on_a_managed_user_is_flagged_as_unmanaged(hand_made_key: HandMadeKey) -> None:
    # Then the deployed rule matched the CloudTrail event and ran detect_changes once, successfully
    [delivery] = hand_made_key.trail.deliveries
    [invocation] = delivery.invocations
    assert (invocation.function, invocation.source, invocation.error) == ("detect_changes", "rule", None)
    # And it classified the key as created out of band, by the administrator, on the managed user
    change = invocation.result["change"]
    assert change["kind"] == "access_key_created_out_of_band" and change["severity"] == "high"
    assert (change["user_name"], change["access_key_id"]) == (HAND_KEYED, hand_made_key.hand_key)
    assert change["actor"] == "arn:aws:iam::123456789012:user/administrator"
    assert change["cloudtrail_event_id"] == delivery.event["detail"]["eventID"]
    assert [w["code"] for w in invocation.result["warnings"]] == ["change:access_key_created_out_of_band"]


def test_with_the_deactivate_response_the_hand_made_key_is_deactivated_and_the_stored_one_kept(
    year: Year, hand_made_key: HandMadeKey
) -> None:
    [invocation] = hand_made_key.trail.invocations
    assert [(a["action"], a["access_key_id"], a["status"]) for a in invocation.result["actions"]] == [
        ("deactivate_key", hand_made_key.hand_key, "done")
    ]
    assert invocation.result["change"]["response"] == "deactivate"
    # Then IAM shows the hand-made key inactive and the stack's key, still the secret's current one, active
    keys = year.account.admin_client("iam").list_access_keys(UserName=HAND_KEYED)["AccessKeyMetadata"]
    assert {k["AccessKeyId"]: k["Status"] for k in keys} == {
        hand_made_key.stack_key: "Active",
        hand_made_key.hand_key: "Inactive",
    }
    stages = year.account.admin_client("secretsmanager").describe_secret(SecretId=f"temporary-iam-users/{HAND_KEYED}")
    current = [v for v, s in stages["VersionIdsToStages"].items() if "AWSCURRENT" in s]
    assert [v.split("-")[0] for v in current] == [hand_made_key.stack_key]


def test_iam_events_reach_the_stack_in_eu_west_1_only_through_the_us_east_1_forwarding_rule(
    year: Year, hand_made_key: HandMadeKey
) -> None:
    account = year.account
    # Given the two stacks `cdk deploy --all` deployed: the main one in eu-west-1, the forwarding one in us-east-1
    assert account.region == REGION and account.functions["detect_changes"].function_arn.split(":")[3] == REGION
    east = account.admin_client("events", region="us-east-1")
    [forward] = [r for r in east.list_rules()["Rules"] if r["Name"].startswith("IamKeyLifecycleIamEvents-")]
    [target] = east.list_targets_by_rule(Rule=forward["Name"])["Targets"]
    assert target["Arn"] == f"arn:aws:events:{REGION}:123456789012:event-bus/default" and target["RoleArn"]
    # And the recorded event is where CloudTrail puts IAM's events: us-east-1
    assert hand_made_key.trail.events[0]["region"] == "us-east-1"
    # When the forwarding rule is disabled, a watched call by hand reaches nothing
    key = account.admin_client("iam").list_access_keys(UserName=ROTATED)["AccessKeyMetadata"][0]
    east.disable_rule(Name=forward["Name"])
    try:
        with account.cloudtrail() as unforwarded:
            unforwarded.client("iam").update_access_key(
                UserName=ROTATED, AccessKeyId=key["AccessKeyId"], Status=key["Status"]
            )
    finally:
        east.enable_rule(Name=forward["Name"])
    assert unforwarded.invocations == []
    # And once enabled again, the same call reaches detect_changes in eu-west-1
    with account.cloudtrail() as forwarded:
        forwarded.client("iam").update_access_key(
            UserName=ROTATED, AccessKeyId=key["AccessKeyId"], Status=key["Status"]
        )
    [invocation] = forwarded.invocations
    assert invocation.function == "detect_changes" and invocation.ok
    assert invocation.result["change"]["kind"] == "access_key_status_changed_out_of_band"


def test_the_owner_is_notified_of_the_hand_made_key(hand_made_key: HandMadeKey) -> None:
    # Then the owner's subscription (filter policy on `owner`) received exactly one message about it
    about = [n for n in hand_made_key.notifications if n.subject.endswith(f" on user {HAND_KEYED}")]
    assert len(about) == 1, [n.subject for n in hand_made_key.notifications]
    assert about[0].attributes["owner"] == OWNER
    assert about[0].subject.startswith("IAM keys: change outside the stack: ")
    assert f"user {HAND_KEYED}, key {hand_made_key.hand_key}: " in about[0].message


def test_the_out_of_band_notification_carries_its_kind(hand_made_key: HandMadeKey) -> None:
    # The README promises `kind` = out_of_band, so a subscription can pick these messages alone
    about = [n for n in hand_made_key.notifications if "change outside the stack" in n.subject]
    assert about and all(n.kind == "out_of_band" for n in about)


def test_the_rule_ignores_the_stacks_own_roles_and_calls_it_does_not_watch(year: Year) -> None:
    account = year.account
    user = ROTATED
    key = account.admin_client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"][0]
    # Given the rotate function's role setting a key's status (to what it already is), as the stack does
    with account.cloudtrail(account.role_credentials("rotate_keys")) as by_stack:
        by_stack.client("iam").update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status=key["Status"])
    # And the administrator listing keys (not watched), then making the same status change (watched)
    with account.cloudtrail() as by_admin:
        admin_iam = by_admin.client("iam")
        admin_iam.list_access_keys(UserName=user)
        admin_iam.update_access_key(UserName=user, AccessKeyId=key["AccessKeyId"], Status=key["Status"])
    # Then CloudTrail recorded all three calls, and the rule delivered only the administrator's change
    [stack_call] = by_stack.deliveries
    assert stack_call.event["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].startswith(
        "arn:aws:iam::123456789012:role/iam-key-lifecycle/"
    )
    assert stack_call.invocations == []
    listed, changed = by_admin.deliveries
    assert listed.event["detail"]["eventName"] == "ListAccessKeys" and listed.invocations == []
    [invocation] = changed.invocations
    assert invocation.result["change"]["kind"] == "access_key_status_changed_out_of_band"


def test_recorded_events_have_the_shape_of_real_cloudtrail_events(year: Year, hand_made_key: HandMadeKey) -> None:
    account = year.account
    role_key = account.role_credentials("rotate_keys")["AccessKeyId"]
    # Given the events the local CloudTrail wrote for an IAM user, the root user and a function's role
    by_hand = hand_made_key.trail.events[0]
    by_root = year.root_key_deliveries[0].event
    by_role = management_event(
        "CreateAccessKey",
        {"UserName": HAND_KEYED},
        {"AccessKey": {"UserName": HAND_KEYED, "AccessKeyId": "AKIA0", "Status": "Active", "CreateDate": START}},
        identity=caller_identity(account.account_id, role_key),
        when=account.now,
        account_id=account.account_id,
        region=account.region,
    )
    refused = management_event(
        "CreateAccessKey",
        {"UserName": HAND_KEYED},
        None,
        identity=caller_identity(account.account_id, role_key),
        when=account.now,
        account_id=account.account_id,
        region=account.region,
        error=("AccessDenied", "User is not authorized to perform: iam:CreateAccessKey"),
    )
    # Then each has exactly the fields of the real samples the classifier is tested with
    for ours, sample in (
        (by_hand, "create_access_key_by_hand"),
        (by_root, "create_access_key_root"),
        (by_role, "create_access_key_by_stack"),
        (refused, "create_access_key_denied"),
    ):
        assert _key_paths(ours) == _key_paths(cloudtrail_event(sample)), sample
    # And no secret access key reaches an event
    assert "secretAccessKey" not in json.dumps(by_hand)


# --- the root key and old unmanaged keys in the audit ----------------------------------------------------------


def _findings(report: dict[str, Any]) -> set[tuple[str, str | None]]:
    return {(f["code"], f["user_name"]) for f in report["audit"]["findings"]}


def test_the_root_key_created_at_the_start_was_flagged_when_created(year: Year) -> None:
    [delivery] = year.root_key_deliveries
    [invocation] = delivery.invocations
    change = invocation.result["change"]
    assert (change["kind"], change["severity"]) == ("root_access_key_created", "critical")
    assert change["access_key_id"] == year.root_key["AccessKeyId"] and invocation.time == START


def test_every_scheduled_audit_reports_the_root_key_and_unmanaged_keys_once_older_than_90_days(year: Year) -> None:
    audits = [i for i in year.scheduled if i.function == "create_keys" and i.event == AUDIT_EVENT]
    # Weekly on Mondays: every Monday of the year, from the first day on
    assert [a.time.date() for a in audits] == [(START + timedelta(days=d)).date() for d in range(0, 365, 7)]
    assert all(a.ok and a.result["errors"] == [] for a in audits)
    for audit in audits:
        found = _findings(audit.result)
        assert ("root_access_key", None) in found, audit.time
        # The out-of-scope users' keys were created at START: flagged from their 91st day on, never before
        old = audit.time - START > timedelta(days=90)
        for user in OUT_OF_SCOPE:
            assert (("unmanaged_key_over_90_days", user) in found) is old, (audit.time, user)
    # Managed users are never reported as unmanaged keys: rotation keeps their keys young
    flagged = {u for a in audits for code, u in _findings(a.result) if code == "unmanaged_key_over_90_days"}
    assert flagged <= set(OUT_OF_SCOPE) | {"administrator"}


def test_a_manual_audit_reports_the_root_key_and_old_unmanaged_keys_and_changes_nothing(year: Year) -> None:
    account = year.account
    iam = account.admin_client("iam")
    # Given the account as IAM shows it: a root key (account summary) and the out-of-scope users' year-old keys
    assert iam.get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 1
    before = out_of_scope_state(account)
    # When the audit is invoked by hand
    report = account.invoke("create_keys", AUDIT_EVENT)
    # Then it reports the root key (IAM.4) and each out-of-scope user's key as over 90 days old (IAM.3)
    assert report["errors"] == [] and report["audit"]["counts"]["root_access_key"] == 1
    controls = {(f["code"], f["user_name"]): f["control"] for f in report["audit"]["findings"]}
    assert controls[("root_access_key", None)] == "IAM.4"
    for user in OUT_OF_SCOPE:
        assert controls[("unmanaged_key_over_90_days", user)] == "IAM.3"
    # And it changed nothing: no action, the unmanaged users as they were
    assert report["actions"] == [] and out_of_scope_state(account) == before


# --- forewarnings: before each deactivation, deletion and expiry, once per window ------------------------------


def _carried_out(scheduled: list[Invocation]) -> list[tuple[datetime, str, str, str | None]]:
    """(time, event, user, key) of every lifecycle event the year's scheduled runs carried out."""
    done = []
    for invocation in scheduled:
        for action in invocation.result["actions"]:
            if action["status"] != "done":
                continue
            kind, user, key = action["action"], action["user_name"], action.get("access_key_id")
            if invocation.function == "rotate_keys" and kind == "deactivate_key":
                done.append((invocation.time, "key-deactivation", user, key))
            elif invocation.function == "rotate_keys" and kind == "delete_key":
                done.append((invocation.time, "key-deletion", user, key))
            elif invocation.function == "cleanup_users" and kind == "delete_user":
                event = "user-expiry" if action["reason"].startswith("expired") else "user-stale"
                done.append((invocation.time, event, user, None))
    return done


# One line per upcoming change in a forewarning's plain-language body (service/notifications.py).
_FOREWARN_LINE = re.compile(
    r"^- user (?P<user_name>[^,:]+)(?:, key (?P<access_key_id>\w+))?: on or after (?P<due>\S+) "
    r"\(in (?P<window_days>\d+) days? at most\) (?P<text>.+?)\. Why: ",
    re.MULTILINE,
)
_FOREWARN_EVENTS = {text: event for event, text in FOREWARN_TEXT.items()}


def _forewarnings(year: Year) -> list[tuple[datetime, dict[str, Any]]]:
    assert year.inbox is not None
    found = []
    for n in year.inbox.received:
        if n.kind != "forewarning":
            continue
        for match in _FOREWARN_LINE.finditer(n.message):
            item: dict[str, Any] = match.groupdict()
            item["event"] = _FOREWARN_EVENTS[item.pop("text")]
            item["window_days"] = int(item["window_days"])
            item["owner"] = n.attributes.get("owner")
            found.append((n.sent, item))
    return found


def test_each_deactivation_deletion_and_expiry_was_forewarned_once_per_window(year: Year) -> None:
    carried_out = _carried_out(year.scheduled)
    # The year holds each kind of event (else this test would prove nothing)
    assert {event for _, event, _, _ in carried_out} == {
        "key-deactivation",
        "key-deletion",
        "user-expiry",
        "user-stale",
    }
    warned: dict[tuple[str, str, str | None], list[tuple[datetime, dict[str, Any]]]] = defaultdict(list)
    for sent, item in _forewarnings(year):
        warned[(item["event"], item["user_name"], item["access_key_id"])].append((sent, item))
    for when, event, user, key in carried_out:
        # The warnings for this event's final due date: sent before it, one per window, to the owner
        before = [(sent, item) for sent, item in warned[(event, user, key)] if _parse(item["due"]) <= when]
        assert before, (when, event, user, key)
        due = max(_parse(item["due"]) for _, item in before)
        final = [(sent, item) for sent, item in before if _parse(item["due"]) == due]
        assert sorted((item["window_days"] for _, item in final), reverse=True) == list(FOREWARN_DAYS), final
        assert all(sent < due and item["owner"] == OWNER for sent, item in final), final
        # And the event happened on the first run after its due date (runs are at most a weekend apart)
        assert timedelta(0) <= when - due <= timedelta(days=3), (when, due)


def test_no_forewarning_was_sent_twice(year: Year) -> None:
    sent = Counter(
        (item["event"], item["user_name"], item["access_key_id"], item["due"], item["window_days"])
        for _, item in _forewarnings(year)
    )
    assert sent and [warning for warning, times in sent.items() if times > 1] == []


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
