"""Randomized checks (fixed seed) of the safety rules every plan must keep, whatever the account looks like."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta

from key_lifecycle.domain.cleanup import plan_cleanup
from key_lifecycle.domain.create import plan_reconcile
from key_lifecycle.domain.plan import RequestRefused
from key_lifecycle.domain.rotation import plan_rotation
from key_lifecycle.models.dates import parse_timestamp
from key_lifecycle.models.report import ActionKind, Plan
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import AccountSnapshot, SecretVersionState, UserState
from tests.support.snapshot_builders import NOW, PATH, SETTINGS, ago, iso, key, key_id, snapshot, user, version

SEED = 20250601
ROUNDS = 1500
STAGE_CHOICES: list[tuple[str, ...] | None] = [
    None,  # no version: an unstored key
    (),
    ("AWSPREVIOUS",),
    ("AWSCURRENT",),
    ("AWSCURRENT",),
    ("AWSPENDING",),
    ("AWSCURRENT", "AWSPENDING"),
]
SETTINGS_CHOICES = [
    SETTINGS,
    Settings(rotate_after_days=1, max_key_age_days=2, deactivate_after_days=0, delete_after_days=0, stale_after_days=1),
    Settings(rotate_after_days=30, max_key_age_days=45, deactivate_after_days=3, delete_after_days=1),
]
REMOVING = {ActionKind.DEACTIVATE_KEY, ActionKind.DELETE_KEY}


def _timestamp_tag(rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.25:
        return None
    if roll < 0.35:
        return rng.choice(["garbled", "", "2025-02-30", "31/12/2025"])
    return iso(ago(days=rng.uniform(-60, 300)))


def _random_user(rng: random.Random, index: int) -> UserState:
    name = rng.choice([f"user{index}", f"USER{index}", f"User{index}"])
    keys = []
    versions: list[SecretVersionState] = []
    used_labels: set[str] = set()
    tags: dict[str, str] = {}
    for slot in range(rng.choice([0, 1, 1, 2, 2, 2])):
        n = index * 10 + slot
        created = ago(days=rng.uniform(0, 300))
        last_used = created + (NOW - created) * rng.random() if rng.random() < 0.6 else None
        keys.append(key(n, created=created, status=rng.choice(["Active", "Active", "Inactive"]), last_used=last_used))
        stages = rng.choice(STAGE_CHOICES)
        if stages is not None:
            # A staging label sits on at most one version of a secret, as in Secrets Manager.
            kept = tuple(s for s in stages if s not in used_labels)
            used_labels.update(kept)
            versions.append(version(n, *kept, created=created + timedelta(seconds=rng.uniform(0, 60))))
        for prefix in ("current-since:", "deactivated-at:"):
            value = _timestamp_tag(rng)
            if value is not None:
                tags[prefix + key_id(n)] = value
    if rng.random() < 0.1:
        versions.append(version(index * 10 + 9, *(("AWSCURRENT",) if "AWSCURRENT" not in used_labels else ())))
    for tag in ("expires-at", "exempt-until"):
        value = _timestamp_tag(rng) if tag == "expires-at" or rng.random() < 0.3 else None
        if value is not None:
            tags[tag] = value
    return user(
        name,
        keys=keys,
        versions=versions,
        tags=tags,
        path=rng.choice([PATH] * 6 + ["/", "/admins/"]),
        managed_by=rng.choice([SETTINGS.managed_by_tag_value] * 6 + [None, "another-deployment"]),
        created=ago(days=rng.uniform(0, 400)),
        expires=None,
        secret=rng.random() < 0.9,
        secret_deleted=ago(days=1) if rng.random() < 0.1 else None,
    )


def _stored_stages(subject: UserState) -> dict[str, set[str]]:
    """Independent of the planner: key id -> stages of its versions in a live secret."""
    if subject.secret is None or subject.secret.deleted_date is not None:
        return {}
    stages: dict[str, set[str]] = {}
    for v in subject.secret.versions:
        stages.setdefault(v.version_id.split("-")[0], set()).update(v.stages)
    return stages


def _protected(subject: UserState) -> set[str]:
    """The verified current key and any pending key: never deactivated or deleted."""
    stages = _stored_stages(subject)
    return {k.access_key_id for k in subject.keys if stages.get(k.access_key_id, set()) & {"AWSCURRENT", "AWSPENDING"}}


def _is_managed(subject: UserState, settings: Settings) -> bool:
    return subject.path == PATH and subject.tags.get("managed-by") == settings.managed_by_tag_value


def _key_plans(account: AccountSnapshot, settings: Settings) -> list[Plan]:
    plans = [plan_reconcile(account, NOW, settings), plan_rotation(account, NOW, settings)]
    for subject in account.users:
        for name in (subject.user_name, subject.user_name.swapcase()):
            try:
                plans.append(plan_rotation(account, NOW, settings, user_name=name, force=True))
            except RequestRefused:
                # Only users outside the stack's reach, or expired ones, may be refused.
                expires = parse_timestamp(subject.tags.get("expires-at"))
                assert not _is_managed(subject, settings) or (expires is not None and expires <= NOW)
    return plans


def _scenarios() -> list[tuple[AccountSnapshot, Settings]]:
    rng = random.Random(SEED)
    return [
        (snapshot(*(_random_user(rng, i) for i in range(rng.randint(1, 4)))), rng.choice(SETTINGS_CHOICES))
        for _ in range(ROUNDS)
    ]


SCENARIOS = _scenarios()


def test_no_plan_deactivates_or_deletes_a_verified_current_or_pending_key() -> None:
    checked = 0
    for account, settings in SCENARIOS:
        protected = {akid for u in account.users for akid in _protected(u)}
        for plan in _key_plans(account, settings):
            for action in plan.actions:
                if action.action in REMOVING:
                    checked += 1
                    assert action.access_key_id not in protected, (action, account)
    assert checked > 100  # the generator does reach removals, so the check above is not vacuous


def test_no_plan_removes_a_key_without_a_stored_secret() -> None:
    for account, settings in SCENARIOS:
        stored = {akid for u in account.users for akid in _stored_stages(u)}
        for plan in _key_plans(account, settings):
            for action in plan.actions:
                if action.action in REMOVING:
                    assert action.access_key_id in stored, (action, account)


def test_plans_only_touch_managed_users() -> None:
    for account, settings in SCENARIOS:
        managed = {u.user_name for u in account.users if _is_managed(u, settings)}
        for plan in [*_key_plans(account, settings), plan_cleanup(account, NOW, settings)]:
            assert {a.user_name for a in plan.actions} <= managed, (plan, account)


def test_no_plan_leads_to_a_third_key_or_creates_beside_a_pending_key() -> None:
    for account, settings in SCENARIOS:
        for plan in _key_plans(account, settings):
            for subject in account.users:
                mine = [a for a in plan.actions if a.user_name == subject.user_name]
                counts = Counter(a.action for a in mine)
                assert len(subject.keys) - counts[ActionKind.DELETE_KEY] + counts[ActionKind.CREATE_KEY] <= 2
                pending = any("AWSPENDING" in s for s in _stored_stages(subject).values())
                assert not (pending and counts[ActionKind.CREATE_KEY]), (mine, subject)
                touched = [a.access_key_id for a in mine if a.access_key_id is not None]
                assert len(touched) == len(set(touched)), mine


def test_cleanup_never_deletes_an_exempt_or_recently_used_unexpired_user() -> None:
    checked = 0
    for account, settings in SCENARIOS:
        deleted = {a.user_name for a in plan_cleanup(account, NOW, settings).actions}
        for subject in account.users:
            raw_exempt = subject.tags.get("exempt-until")
            exempt_until = parse_timestamp(raw_exempt)
            if raw_exempt is not None and (exempt_until is None or exempt_until > NOW):
                assert subject.user_name not in deleted
            expires = parse_timestamp(subject.tags.get("expires-at"))
            recent = any(
                k.last_used_date and k.last_used_date > NOW - timedelta(days=settings.stale_after_days)
                for k in subject.keys
            )
            if (expires is None or expires > NOW) and recent:
                assert subject.user_name not in deleted
            checked += subject.user_name in deleted
    assert checked > 100


def test_plans_do_not_depend_on_the_order_users_are_listed_in() -> None:
    for account, settings in SCENARIOS[:300]:
        reversed_account = AccountSnapshot(users=tuple(reversed(account.users)))
        assert plan_reconcile(account, NOW, settings) == plan_reconcile(reversed_account, NOW, settings)
        assert plan_rotation(account, NOW, settings) == plan_rotation(reversed_account, NOW, settings)
        assert plan_cleanup(account, NOW, settings) == plan_cleanup(reversed_account, NOW, settings)
