"""What "managed" means: the users the stack may change. At the bottom of the package, as the gateways need it to
read the account and the rules to plan."""

from __future__ import annotations

from key_lifecycle.models.constants import MANAGED_BY_TAG
from key_lifecycle.models.settings import Settings
from key_lifecycle.models.snapshot import UserState


def carries_the_boundary(user: UserState, settings: Settings) -> bool:
    """The stack creates every user with its permissions boundary, and no role may remove or change it, so a user
    without it was not made by the stack, whatever its tags say (IAM cannot stop the create role from tagging an
    untagged user made by hand). Without a configured boundary (tests of the engine alone) the check is off."""
    expected = settings.permissions_boundary_arn
    return expected is None or user.permissions_boundary_arn == expected


def is_managed(user: UserState, settings: Settings) -> bool:
    """Exactly at the managed path, tagged `managed-by` with this deployment's value AND carrying the stack's
    permissions boundary; nothing else is ever changed."""
    return (
        user.path == settings.managed_user_path
        and user.tags.get(MANAGED_BY_TAG) == settings.managed_by_tag_value
        and carries_the_boundary(user, settings)
    )


def in_managed_path(user: UserState, settings: Settings) -> bool:
    """At the managed path or below it: IAM's `user/temporary/*` covers /temporary/admins/ too."""
    return user.path.startswith(settings.managed_user_path)


def is_unmanaged_in_path(user: UserState, settings: Settings) -> bool:
    """At or below the managed path but not ours: reported, never changed."""
    return in_managed_path(user, settings) and not is_managed(user, settings)
