"""Answers moto's server recomputes on every request, computed once: which service modules exist (a
directory scan) and which actions a response class implements. Pure caches; no behaviour changes."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from moto import backends
from moto.core import responses, utils
from moto.iam.models import IAMBackend

_original_list_of_moto_modules = backends.list_of_moto_modules


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_original_list_of_moto_modules())


def _list_of_moto_modules() -> Iterable[str]:
    return _moto_modules()


@functools.cache
def _method_names_from_class(clazz: type) -> frozenset[str]:
    return frozenset(utils.method_names_from_class(clazz))


def _get_account_authorization_details(self: IAMBackend, policy_filter: list[str]) -> dict[str, Any]:
    # moto hashes every AWS managed policy (about 1,100) on each call to tell local policies apart,
    # whatever the filter asks for; the ARN says it directly.
    if not policy_filter:
        policies: list[Any] = list(self.managed_policies.values())
        wanted = {"Role", "Group", "User"}
    else:
        policies = list(self.aws_managed_policies) if "AWSManagedPolicy" in policy_filter else []
        if "LocalManagedPolicy" in policy_filter:
            policies += [p for p in self.managed_policies.values() if ":iam::aws:policy/" not in p.arn]
        wanted = set(policy_filter)
    return {
        "instance_profiles": self.instance_profiles.values(),
        "roles": self.roles.values() if "Role" in wanted else [],
        "groups": self.groups.values() if "Group" in wanted else [],
        "users": self.users.values() if "User" in wanted else [],
        "managed_policies": policies,
    }


def install() -> None:
    IAMBackend.get_account_authorization_details = _get_account_authorization_details  # type: ignore[method-assign]
    backends.list_of_moto_modules = _list_of_moto_modules
    # Response classes get their patched actions before the first request, so caching per class is safe.
    responses.method_names_from_class = _method_names_from_class  # type: ignore[assignment]
