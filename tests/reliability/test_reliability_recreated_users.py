"""A user deleted by cleanup and created again under the same name while its old secret is in its recovery window:
the secret is restored and gets a new version; the old versions hold only deleted keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from tests.reliability.reliability_account import World
from tests.support.moto_account import OWNER

START = datetime(2035, 3, 1, 9, 0, tzinfo=UTC)
NAME = "phoenix"
CREATE = {"action": "create_user", "user_name": NAME, "owner": OWNER, "ttl_days": 30}


def test_a_user_recreated_within_the_recovery_window_gets_the_restored_secret_with_a_new_version(world: World) -> None:
    with time_machine.travel(START, tick=True) as traveller:
        # Given a user with a rotated key (two versions), deleted by the scheduled cleanup once expired
        world.run("create_keys", CREATE)
        world.run("rotate_keys", {"user_name": NAME, "force": True})
        old_keys = set(world.keys(NAME))
        old_versions = set(world.secret(NAME)["SecretVersionsToStages"])  # type: ignore[index]
        traveller.move_to(START + timedelta(days=31))
        world.run("cleanup_users", {})
        assert world.user(NAME) is None and "DeletedDate" in world.secret(NAME)  # type: ignore[operator]

        # When a user of the same name is created again within the recovery window
        traveller.shift(timedelta(days=2))
        report = world.run("create_keys", CREATE)

        # Then the creation is complete and verified, in the restored secret
        assert report["errors"] == [] and {a["status"] for a in report["actions"]} == {"done"}
        assert report["verification"] == "verified"
        secret = world.secret(NAME)
        assert secret is not None and "DeletedDate" not in secret
        (new_key,) = world.keys(NAME)
        assert new_key not in old_keys
        # And AWSCURRENT holds the new key; every older version holds a deleted key and no working stage
        assert world.secret_value(NAME)["access_key_id"] == new_key
        versions = secret["SecretVersionsToStages"]
        assert set(versions) - old_versions == {v for v in versions if v.startswith(new_key + "-")}
        for version_id, stages in versions.items():
            if version_id in old_versions:
                assert version_id.split("-")[0] in old_keys and version_id.split("-")[0] not in world.keys(NAME)
                assert not {"AWSCURRENT", "AWSPENDING"} & set(stages), (version_id, stages)
        assert world.stages(NAME)[new_key] == ["AWSCURRENT"]

        # When the schedules run and the new user's key is rotated
        traveller.shift(timedelta(minutes=20))
        world.schedules()
        world.run("rotate_keys", {"user_name": NAME, "force": True})
    # Then the old versions never confuse the lifecycle
    assert world.problems(settled=True) == []
    assert len(world.keys(NAME)) == 2 and set(world.keys(NAME)) == {
        k for k, st in world.stages(NAME).items() if {"AWSCURRENT", "AWSPREVIOUS"} & set(st)
    }
