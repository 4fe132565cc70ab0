"""The posture audit from a credential report, and the inventory report (both pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from key_lifecycle.domain.audit import UserPolicies, audit_account
from key_lifecycle.domain.inventory import build_inventory
from key_lifecycle.gateways.credential_report import parse_report
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, SecretState, SecretVersionState, UserState
from tools.inventory_table import render_table

NOW = datetime(2030, 6, 1, tzinfo=UTC)
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
)


def iso(days_ago: int) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def row(user: str, created: int, k1: tuple[bool, int | None, int | None], k2=(False, None, None), password=None) -> str:
    def slot(active: bool, rotated: int | None, used: int | None) -> str:
        return ",".join(
            [
                str(active).lower(),
                iso(rotated) if rotated is not None else "N/A",
                iso(used) if used is not None else "N/A",
                "N/A",
                "N/A",
            ]
        )

    pw = f"true,{iso(password)},{iso(password)},N/A" if password is not None else "false,N/A,N/A,N/A"
    arn = f"arn:aws:iam::123456789012:user/{user}"
    return f"{user},{arn},{iso(created)},{pw},false,{slot(*k1)},{slot(*k2)},false,N/A,false,N/A"


def plain(name: str, path: str = "/", tags: dict[str, str] | None = None) -> UserState:
    return UserState(
        user_name=name, arn=f"arn:aws:iam::123456789012:user{path}{name}", path=path, create_date=NOW, tags=tags or {}
    )


MANAGED_TAGS = {"managed-by": "iam-key-lifecycle", "owner": "team@example.com"}


def test_the_audit_finds_every_posture_problem_and_nothing_on_a_clean_user() -> None:
    # Given a credential report with the root keys present, an old unmanaged key, idle credentials,
    # a user with two active keys, a managed user in good shape, and a user with a policy attached directly
    report = "\n".join(
        [
            HEADER,
            "<root_account>,arn:aws:iam::123456789012:root," + iso(900) + ",not_supported,N/A,not_supported,"
            "not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
            row("legacy-ci", 400, (True, 200, 1)),
            row("idle", 100, (True, 60, 50), password=95),
            row("twokeys", 30, (True, 20, 1), (True, 10, 1)),
            row("temp", 10, (True, 10, 1)),
        ]
    )
    users = [plain("legacy-ci"), plain("idle"), plain("twokeys"), plain("temp", "/temporary/", MANAGED_TAGS)]
    # When audited (root keys reported by GetAccountSummary, which the report may leave out)
    result = audit_account(
        parse_report(report, NOW).rows,
        users,
        {"twokeys": UserPolicies(attached=("AdministratorAccess",))},
        root_keys_present=True,
        now=NOW,
        settings=Settings(),
    )
    # Then each finding names its control and user
    found = sorted((f.code, f.control, f.user_name) for f in result.findings)
    assert found == [
        ("credential_unused_45_days", "IAM.22", "idle"),
        ("credential_unused_90_days", "IAM.8", "idle"),
        ("direct_user_policy", "IAM.2", "twokeys"),
        ("root_access_key", "IAM.4", None),
        ("two_active_keys", "-", "twokeys"),
        ("unmanaged_key_over_90_days", "IAM.3", "legacy-ci"),
    ]
    assert result.counts["root_access_key"] == 1
    assert (result.users, result.managed_users, result.active_keys) == (4, 1, 5)
    assert "200 days old" in next(f.message for f in result.findings if f.code == "unmanaged_key_over_90_days")


def test_root_keys_are_found_from_the_report_row_too() -> None:
    report = "\n".join(
        [
            HEADER,
            "<root_account>,arn:aws:iam::123456789012:root," + iso(900) + ",not_supported,N/A,not_supported,"
            "not_supported,true,true," + iso(500) + ",N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
        ]
    )
    result = audit_account(
        parse_report(report, NOW).rows, [], {}, root_keys_present=False, now=NOW, settings=Settings()
    )
    assert [f.code for f in result.findings] == ["root_access_key"]


def test_a_clean_account_has_no_findings() -> None:
    report = "\n".join([HEADER, row("temp", 10, (True, 10, 1))])
    users = [plain("temp", "/temporary/", MANAGED_TAGS)]
    result = audit_account(
        parse_report(report, NOW).rows, users, {}, root_keys_present=False, now=NOW, settings=Settings()
    )
    assert result.findings == [] and all(count == 0 for count in result.counts.values())


def test_the_inventory_lists_keys_with_stage_age_last_use_and_next_action() -> None:
    # Given a managed user whose current key was created 80 days ago and whose old key awaits deactivation
    current, old = "AKIACURRENT000000001", "AKIAOLD0000000000001"
    user = plain(
        "ci",
        "/temporary/",
        {
            **MANAGED_TAGS,
            "expires-at": format_timestamp(NOW + timedelta(days=40)),
            f"current-since:{current}": format_timestamp(NOW - timedelta(days=2)),
        },
    ).model_copy(
        update={
            "keys": (
                AccessKeyState(access_key_id=old, status="Active", create_date=NOW - timedelta(days=95)),
                AccessKeyState(
                    access_key_id=current,
                    status="Active",
                    create_date=NOW - timedelta(days=2),
                    last_used_date=NOW - timedelta(hours=3),
                ),
            ),
            "secret": SecretState(
                name="temporary-iam-users/ci",
                arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:temporary-iam-users/ci",
                versions=(
                    SecretVersionState(version_id=f"{current}-{'1' * 32}", stages=("AWSCURRENT",)),
                    SecretVersionState(version_id=f"{old}-{'2' * 32}", stages=("AWSPREVIOUS",)),
                ),
            ),
        }
    )
    stranger = plain("in-path", "/temporary/", {"managed-by": "other"})
    # When the inventory is built
    # (the advisor, two days ago, advised the current key and a key of another user, not the old key)
    advised_at = format_timestamp(NOW - timedelta(days=2))
    advice = {current: "instance_profile", "AKIAELSEWHERE0000000": "keep_key"}
    inventory = build_inventory(
        AccountSnapshot(users=(user, stranger)), NOW, Settings(), advice=advice, advised_at=advised_at
    )
    # Then the user's keys carry their role, stage, age, last use and next action with its date
    (entry,) = inventory["users"]
    by_id = {k["access_key_id"]: k for k in entry["keys"]}
    assert by_id[old] | {} == {
        "access_key_id": old,
        "status": "Active",
        "role": "replaced",
        "created": format_timestamp(NOW - timedelta(days=95)),
        "age_days": 95,
        "last_used": None,
        "secret_stage": "AWSPREVIOUS",
        "next_action": "deactivate key",
        "next_action_due": format_timestamp(NOW + timedelta(days=5)),
        "advice": None,  # never advised
        "advised_at": None,
    }
    # And the current key carries the advisor's last recommendation and when it was made
    assert (by_id[current]["advice"], by_id[current]["advised_at"]) == ("instance_profile", advised_at)
    assert inventory["advised_at"] == advised_at
    # (the user expires on day 40, before the current key's rotation on day 88: its deletion comes first)
    assert by_id[current]["next_action"] == "delete user (expiry)"
    assert by_id[current]["next_action_due"] == format_timestamp(NOW + timedelta(days=40))
    assert entry["next_action"] == "deactivate key"
    assert inventory["totals"] == {
        "managed_users": 1,
        "unmanaged_in_path": 1,
        "keys": 2,
        "active_keys": 2,
        "inactive_keys": 0,
        "keys_without_secret": 0,
        "users_deleted_within_7_days": 0,
        "keys_due_for_rotation": 0,
    }
    # And the table shows one line per key and the totals
    table = render_table(inventory)
    assert table.splitlines()[0].split() == [
        "user",
        "owner",
        "key",
        "status",
        "age",
        "last",
        "used",
        "stage",
        "next",
        "action",
        "due",
        "advice",
    ]
    lines = {line.split()[2]: line for line in table.splitlines() if line.startswith("ci ")}
    assert len(lines) == 2
    assert lines[current].endswith("instance_profile") and lines[old].endswith("not advised")
    assert table.splitlines()[-2].startswith("totals: managed users 1")
    assert table.splitlines()[-1] == f"advice: {advised_at}"
    # And without the advisor's memory every key says so
    bare = build_inventory(AccountSnapshot(users=(user, stranger)), NOW, Settings())
    assert [k["advice"] for k in bare["users"][0]["keys"]] == [None, None] and bare["advised_at"] is None
    assert render_table(bare).splitlines()[-1].startswith("advice: the advisor has not run")


def test_two_active_keys_are_a_finding_on_an_unmanaged_user_not_during_the_stacks_own_rotation() -> None:
    # Given a managed user in its rotation grace (its replaced key still active) and an unmanaged user with two keys
    report = "\n".join(
        [HEADER, row("temp", 100, (True, 95, 1), (True, 3, 1)), row("ops", 100, (True, 50, 1), (True, 3, 1))]
    )
    users = [plain("temp", "/temporary/", MANAGED_TAGS), plain("ops")]
    # When audited
    result = audit_account(
        parse_report(report, NOW).rows, users, {}, root_keys_present=False, now=NOW, settings=Settings()
    )
    # Then only the unmanaged user's second key is a finding
    assert [(f.code, f.user_name) for f in result.findings] == [("two_active_keys", "ops")]
