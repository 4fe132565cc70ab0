"""The credential report parsed, and its key slots matched to key ids only when that is beyond doubt."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from key_lifecycle.gateways.credential_report import parse_report
from key_lifecycle.gateways.snapshot import keys_from_report
from key_lifecycle.models.constants import STAGE_CURRENT, STAGE_PENDING, STAGE_PREVIOUS
from key_lifecycle.models.credential_report import CredentialReport, CredentialRow, KeySlot
from key_lifecycle.models.snapshot import SecretState, SecretVersionState, UserState

GENERATED = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
ARN = "arn:aws:iam::123456789012:user/temporary/alice"
OLD, NEW = "AKIAOLDOLDOLDOLDOLD1", "AKIANEWNEWNEWNEWNEW2"
HEADER = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated\n"
)


def _at(days_ago: float) -> datetime:
    return GENERATED - timedelta(days=days_ago)


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _user(**tags: str) -> UserState:
    return UserState(
        user_name="alice", arn=ARN, path="/temporary/", create_date=_at(200), tags={"managed-by": "x", **tags}
    )


def _secret(*versions: tuple[str, tuple[str, ...]]) -> SecretState:
    return SecretState(
        name="temporary-iam-users/alice",
        arn="arn:secret",
        versions=tuple(SecretVersionState(version_id=f"{akid}-{'0' * 32}", stages=stages) for akid, stages in versions),
    )


def _slot(active: bool, created: datetime, last_used: datetime | None, slot: int = 1) -> KeySlot:
    return KeySlot(slot=slot, active=active, last_rotated=created, last_used=last_used)


def _report(*keys: KeySlot) -> CredentialReport:
    numbered = tuple(replace(key, slot=index) for index, key in enumerate(keys, start=1))
    row = CredentialRow(
        user="alice",
        arn=ARN,
        created=None,
        password_enabled=False,
        password_last_used=None,
        password_last_changed=None,
        keys=numbered,
    )
    return CredentialReport(generated=GENERATED, rows=(row,))


def test_the_report_is_parsed_by_user_with_key_slots_and_the_root_row_skipped() -> None:
    # Given a report as IAM writes it: the root row, a user with two keys, one with none
    content = HEADER + (
        "<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,"
        "2030-05-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,"
        "false,N/A,false,N/A\n"
        f"alice,{ARN},2030-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,"
        "true,2030-05-01T10:00:00+00:00,2030-05-31T09:00:00+00:00,us-east-1,iam,"
        "false,2030-02-01T10:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n"
        "bob,arn:aws:iam::123456789012:user/bob,2030-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,"
        "false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    )
    # When it is parsed
    report = parse_report(content.encode(), GENERATED.replace(tzinfo=None))
    # Then every user but root has a row; slots without a creation time hold no key
    assert report.user_row("<root_account>") is None
    assert report.generated == GENERATED
    alice, bob = report.user_row("alice"), report.user_row("bob")
    assert alice is not None and bob is not None
    assert alice.held_keys[0] == _slot(
        True, datetime(2030, 5, 1, 10, tzinfo=UTC), datetime(2030, 5, 31, 9, tzinfo=UTC), slot=1
    )
    assert alice.held_keys[1] == _slot(False, datetime(2030, 2, 1, 10, tzinfo=UTC), None, slot=2)
    assert bob.held_keys == ()


def test_a_row_with_an_unreadable_slot_is_left_out_so_the_user_is_read_directly() -> None:
    content = HEADER + (
        f"alice,{ARN},2030-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,"
        "true,garbled,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
    )
    assert parse_report(content, GENERATED).user_row("alice") is None


def test_one_key_is_matched_to_the_id_its_current_since_tag_names() -> None:
    # Given one key in the report and one current-since tag for a stored key
    user = _user(**{f"current-since:{NEW}": _iso(_at(30))})
    report = _report(_slot(active=True, created=_at(30.01), last_used=_at(1)))
    # When the keys are matched
    keys = keys_from_report(user, _secret((NEW, (STAGE_CURRENT,))), report)
    # Then the key carries the id and the report's status, creation and last use
    assert keys is not None and len(keys) == 1
    assert (keys[0].access_key_id, keys[0].status, keys[0].create_date) == (NEW, "Active", _at(30.01))
    assert keys[0].last_used_date == _at(1)


def test_two_keys_are_paired_in_creation_order_whatever_the_slot_order() -> None:
    user = _user(**{f"current-since:{OLD}": _iso(_at(100)), f"current-since:{NEW}": _iso(_at(3))})
    report = _report(
        _slot(active=True, created=_at(3.01), last_used=None),
        _slot(active=True, created=_at(100.01), last_used=_at(2)),
    )
    keys = keys_from_report(user, _secret((OLD, (STAGE_PREVIOUS,)), (NEW, (STAGE_CURRENT,))), report)
    assert keys is not None
    by_id = {key.access_key_id: key for key in keys}
    assert by_id[OLD].create_date == _at(100.01) and by_id[OLD].last_used_date == _at(2)
    assert by_id[NEW].create_date == _at(3.01) and by_id[NEW].last_used_date is None


def test_doubtful_matches_are_left_to_per_user_reads() -> None:
    one_key = _report(_slot(active=True, created=_at(30.01), last_used=None))
    stored = _secret((NEW, (STAGE_CURRENT,)))
    tagged = {f"current-since:{NEW}": _iso(_at(30))}
    # A key the stack does not know of (no tag): counts differ
    assert keys_from_report(_user(), stored, one_key) is None
    # The stack changed the user after the report was made
    assert (
        keys_from_report(_user(**{f"current-since:{NEW}": _iso(GENERATED + timedelta(minutes=5))}), stored, one_key)
        is None
    )
    assert (
        keys_from_report(
            _user(**tagged, **{f"deactivated-at:{OLD}": _iso(GENERATED + timedelta(hours=1))}), stored, one_key
        )
        is None
    )
    # A rotation in flight, a garbled tag, a key created after it became current, no row, no report
    assert keys_from_report(_user(**tagged), _secret((NEW, (STAGE_CURRENT, STAGE_PENDING))), one_key) is None
    assert keys_from_report(_user(**{f"current-since:{NEW}": "soon"}), stored, one_key) is None
    late = _report(_slot(active=True, created=_at(29), last_used=None))
    assert keys_from_report(_user(**tagged), stored, late) is None
    assert keys_from_report(_user(**tagged), stored, CredentialReport(generated=GENERATED, rows={})) is None
    assert keys_from_report(_user(**tagged), stored, None) is None
    # While everything agrees, the match stands
    assert keys_from_report(_user(**tagged), stored, one_key) is not None
