"""Patches to moto, each named for the AWS behaviour it reproduces; installed when the local account is
imported, judging only inside `aws_fidelity()` (which every LocalAccount holds open)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from local_account.emulator.fidelity import active, judging

__all__ = ["active", "aws_fidelity", "install"]

_installed = False


def install() -> None:
    """Install every patch once per process."""
    global _installed
    if _installed:
        return
    from local_account.emulator import (  # noqa: F401 (alarms: CloudFormation resource types)
        alarms,
        authorization,
        cloudformation,
        cloudtrail,
        credentials,
        organizations,
        performance,
        secrets,
        server,
        stacksets,
        trust,
        users,
    )

    authorization.install()
    users.install()
    secrets.install()
    credentials.install()
    cloudformation.install()
    cloudtrail.install()
    server.install()
    trust.install()
    organizations.install()
    stacksets.install()  # after organizations: it wraps the same methods
    performance.install()
    _installed = True


@contextmanager
def aws_fidelity() -> Iterator[None]:
    """Make the patched moto behave like AWS inside the block; nested blocks are fine.

    The patches are installed once per process but only judge while a block is open, so other
    tests running moto in the same process keep moto's own behaviour.
    """
    install()
    with judging():
        yield
