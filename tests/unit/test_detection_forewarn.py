"""Forewarnings: due within each configured window, sent once per window and due date, records cleaned up."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from key_lifecycle.domain.forewarn import UpcomingEvent, plan_forewarnings
from key_lifecycle.models.dates import format_timestamp
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccessKeyState, AccountSnapshot, SecretState, SecretVersionState, UserState

START = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
SETTINGS = Settings(forewarn_days=(7, 1))


def key(akid: str, created: datetime, status: str = "Active", last_used: datetime | None = None) -> AccessKeyState:
    return AccessKeyState(access_key_id=akid, status=status, create_date=created, last_used_date=last_used)


def user(
    *,
    expires: datetime,
    keys: tuple[AccessKeyState, ...] = (),
    stages: dict[str, tuple[str, ...]] | None = None,
    tags: dict[str, str] | None = None,
    owner: str = "team@example.com",
) -> UserState:
    stages = stages or {}
    return UserState(
        user_name="ci",
        arn="arn:aws:iam::123456789012:user/temporary/ci",
        path="/temporary/",
        create_date=START,
        tags={
            "managed-by": "iam-key-lifecycle",
            "owner": owner,
            "expires-at": format_timestamp(expires),
            **(tags or {}),
        },
        keys=keys,
        secret=SecretState(
            name="temporary-iam-users/ci",
            arn="arn:aws:secretsmanager:us-east-1:123456789012:secret:temporary-iam-users/ci",
            versions=tuple(SecretVersionState(version_id=f"{k}-{'0' * 32}", stages=s) for k, s in stages.items()),
        ),
    )


def recorded(snapshot: AccountSnapshot, now: datetime) -> tuple[AccountSnapshot, list]:
    """One daily run: the warnings due, and the snapshot with their records written and stale ones removed."""
    plan = plan_forewarnings(snapshot, now, SETTINGS)
    users = []
    for u in snapshot.users:
        tags = {k: v for k, v in u.tags.items() if k not in plan.stale_tags.get(u.user_name, [])}
        tags.update({w.tag_key: w.tag_value for w in plan.warnings if w.user_name == u.user_name})
        users.append(u.model_copy(update={"tags": tags}))
    return AccountSnapshot(users=tuple(users)), plan.warnings


def test_expiry_is_warned_once_per_window_over_daily_runs() -> None:
    # Given a user expiring in 20 days, and a run every day
    snapshot = AccountSnapshot(users=(user(expires=START + timedelta(days=20)),))
    sent = []
    for day in range(25):
        snapshot, warnings = recorded(snapshot, START + timedelta(days=day, minutes=1))
        sent += [(day, w.window_days, w.event) for w in warnings]
    # Then exactly two warnings went out: 7 days ahead and 1 day ahead, none after the expiry
    assert sent == [(13, 7, UpcomingEvent.USER_EXPIRY), (19, 1, UpcomingEvent.USER_EXPIRY)]


def test_a_moved_due_date_is_warned_again_and_a_passed_event_leaves_no_record() -> None:
    now = START
    snapshot, first = recorded(AccountSnapshot(users=(user(expires=now + timedelta(days=5)),)), now)
    assert [w.window_days for w in first] == [7]
    # When the expiry is extended by 3 days (a new date)
    extended = snapshot.users[0].model_copy(
        update={"tags": {**snapshot.users[0].tags, "expires-at": format_timestamp(now + timedelta(days=8))}}
    )
    _, again = recorded(AccountSnapshot(users=(extended,)), now + timedelta(days=2))
    # Then the owner hears of the new date
    assert [w.due for w in again] == [now + timedelta(days=8)]
    # And once the user is expired, its record is stale
    plan = plan_forewarnings(AccountSnapshot(users=(extended,)), now + timedelta(days=9), SETTINGS)
    assert plan.warnings == [] and plan.stale_tags == {"ci": ["warned:user-deletion"]}


def test_a_first_run_inside_the_last_window_sends_one_warning_not_two() -> None:
    snapshot = AccountSnapshot(users=(user(expires=START + timedelta(hours=20)),))
    _, warnings = recorded(snapshot, START)
    assert [(w.window_days, w.message.split("(")[1].split(")")[0]) for w in warnings] == [(1, "in 20 hours")]


def test_replaced_key_deactivation_and_inactive_key_deletion_are_warned_with_the_key() -> None:
    # Given a rotated user: new current key since day 0, old key replaced (active), another inactive since day -3
    current, replaced, inactive = "AKIACURRENT000000001", "AKIAREPLACED00000001", "AKIAINACTIVE00000001"
    u = user(
        expires=START + timedelta(days=300),
        keys=(
            key(inactive, START - timedelta(days=200), status="Inactive"),
            key(replaced, START - timedelta(days=90)),
            key(current, START),
        ),
        stages={current: ("AWSCURRENT",), replaced: ("AWSPREVIOUS",), inactive: ()},
        tags={
            f"current-since:{current}": format_timestamp(START),
            f"deactivated-at:{inactive}": format_timestamp(START - timedelta(days=3)),
        },
    )
    # When the run after the rotation plans its warnings
    plan = plan_forewarnings(AccountSnapshot(users=(u,)), START + timedelta(hours=1), SETTINGS)
    # Then the replaced key's deactivation (day 7) and the inactive key's deletion (day 4) are both announced
    found = {(w.event, w.access_key_id, w.due) for w in plan.warnings}
    assert found == {
        (UpcomingEvent.KEY_DEACTIVATION, replaced, START + timedelta(days=7)),
        (UpcomingEvent.KEY_DELETION, inactive, START + timedelta(days=4)),
    }
    assert {w.tag_key for w in plan.warnings} == {
        f"warned:key-deactivation:{replaced}",
        f"warned:key-deletion:{inactive}",
    }
    assert all(w.owner == "team@example.com" for w in plan.warnings)
    assert "Switch to the current key stored in secret temporary-iam-users/ci" in next(
        w.message for w in plan.warnings if w.event is UpcomingEvent.KEY_DEACTIVATION
    )


def test_a_replaced_key_still_in_use_is_announced_for_its_hard_maximum_age() -> None:
    current, replaced = "AKIACURRENT000000001", "AKIAREPLACED00000001"
    created = START - timedelta(days=115)
    u = user(
        expires=START + timedelta(days=300),
        keys=(key(replaced, created, last_used=START + timedelta(hours=2)), key(current, START - timedelta(days=25))),
        stages={current: ("AWSCURRENT",), replaced: ("AWSPREVIOUS",)},
    )
    plan = plan_forewarnings(AccountSnapshot(users=(u,)), START + timedelta(hours=3), SETTINGS)
    (warning,) = [w for w in plan.warnings if w.event is UpcomingEvent.KEY_DEACTIVATION]
    assert warning.due == created + timedelta(days=120)
    assert "hard maximum age" in warning.message


def test_unmanaged_users_and_exempt_users_are_not_warned() -> None:
    exempt = user(
        expires=START + timedelta(days=2), tags={"exempt-until": format_timestamp(START + timedelta(days=30))}
    )
    stranger = user(expires=START + timedelta(days=2)).model_copy(update={"path": "/"})
    assert plan_forewarnings(AccountSnapshot(users=(exempt,)), START, SETTINGS).warnings == []
    assert plan_forewarnings(AccountSnapshot(users=(stranger,)), START, SETTINGS).warnings == []


def test_no_windows_configured_means_no_warnings() -> None:
    snapshot = AccountSnapshot(users=(user(expires=START + timedelta(days=1)),))
    assert plan_forewarnings(snapshot, START, Settings(forewarn_days=())).warnings == []


def test_a_simulated_year_warns_before_every_deactivation_deletion_and_expiry_exactly_once_per_window() -> None:
    # Given a user living 365 days whose key is rotated every 90 days; the stack's actions are applied on their
    # due day, and a forewarning run happens every morning
    settings = SETTINGS
    expires = START + timedelta(days=365)
    keys = {"AKIA0000000000000000": START}
    status = {"AKIA0000000000000000": "Active"}
    current = "AKIA0000000000000000"
    tags: dict[str, str] = {f"current-since:{current}": format_timestamp(START)}
    done: list[tuple[str, str | None, datetime]] = []
    warned: Counter[tuple[str, str | None, datetime, int]] = Counter()
    serial = 0
    for day in range(1, 380):
        now = START + timedelta(days=day)
        if now >= expires:
            done.append(("user-expiry", None, expires))
            break
        # The stack's actions of the day (rotation, deactivation, deletion), as the planner would do them
        for akid in list(keys):
            since = tags.get(f"deactivated-at:{akid}")
            if since and now >= datetime.fromisoformat(since) + timedelta(days=settings.delete_after_days):
                done.append(("key-deletion", akid, datetime.fromisoformat(since) + timedelta(days=7)))
                del keys[akid], status[akid]
                # As the runner does: only its own records go with the key; forewarning records are left over
                tags.pop(f"current-since:{akid}", None)
                tags.pop(f"deactivated-at:{akid}", None)
            elif akid != current and status[akid] == "Active":
                cut = datetime.fromisoformat(tags[f"current-since:{current}"])
                if now >= cut + timedelta(days=settings.deactivate_after_days):
                    done.append(("key-deactivation", akid, cut + timedelta(days=7)))
                    status[akid] = "Inactive"
                    tags[f"deactivated-at:{akid}"] = format_timestamp(now)
        if now - keys[current] >= timedelta(days=settings.rotate_after_days) and len(keys) == 1:
            serial += 1
            current = f"AKIA{serial:016d}"
            keys[current], status[current] = now, "Active"
            tags[f"current-since:{current}"] = format_timestamp(now)
        u = user(
            expires=expires,
            keys=tuple(key(k, c, status[k]) for k, c in keys.items()),
            stages={k: (("AWSCURRENT",) if k == current else ("AWSPREVIOUS",)) for k in keys},
            tags=tags,
        )
        # The client uses the current key daily (so the user never goes stale) and switched away from the old one
        used = tuple(k.model_copy(update={"last_used_date": now}) if k.access_key_id == current else k for k in u.keys)
        u = u.model_copy(update={"keys": used})
        plan = plan_forewarnings(AccountSnapshot(users=(u,)), now + timedelta(hours=1), settings)
        for w in plan.warnings:
            warned[(str(w.event), w.access_key_id, w.due, w.window_days)] += 1
            tags[w.tag_key] = w.tag_value
        for stale in plan.stale_tags.get("ci", []):
            tags.pop(stale, None)

    # Then every action of the year was preceded by its warnings, each sent exactly once
    assert {kind for kind, _, _ in done} == {"key-deactivation", "key-deletion", "user-expiry"}
    assert all(count == 1 for count in warned.values()), warned
    for kind, akid, due in done:
        windows = sorted(w for (e, k, d, w) in warned if e == kind and k == akid and d == due)
        assert windows, (kind, akid, due)
        assert windows[0] == 1, (kind, akid, due, windows)
    # And the records of keys that are gone were removed with them
    gone = [tag for tag in tags if tag.startswith("warned:key") and tag.rsplit(":", 1)[1] not in keys]
    assert gone == []


def test_a_user_deleted_before_its_keys_events_gets_no_key_forewarnings() -> None:
    # Given a rotated user whose replaced key would be deactivated on day 7, but which expires on day 5
    current, replaced = "AKIACURRENT000000001", "AKIAREPLACED00000001"
    u = user(
        expires=START + timedelta(days=5),
        keys=(key(replaced, START - timedelta(days=90)), key(current, START)),
        stages={current: ("AWSCURRENT",), replaced: ("AWSPREVIOUS",)},
        tags={f"current-since:{current}": format_timestamp(START)},
    )
    # When the run after the rotation plans its warnings
    plan = plan_forewarnings(AccountSnapshot(users=(u,)), START + timedelta(hours=1), SETTINGS)
    # Then only the user's expiry is announced: its keys go with it
    assert [(w.event, w.access_key_id) for w in plan.warnings] == [(UpcomingEvent.USER_EXPIRY, None)]
