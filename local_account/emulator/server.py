"""The emulator's HTTP Date header keeps real time while the account runs on a virtual clock."""

from __future__ import annotations

import email.utils

import time_machine
from moto.moto_server.werkzeug_app import MotoRequestHandler

from local_account.emulator.fidelity import active

_original_date_time_string = MotoRequestHandler.date_time_string


def _date_time_string(self: MotoRequestHandler, timestamp: float | None = None) -> str:
    # SDKs correct their clock from the Date header. With a virtual clock months away from the real one,
    # the CDK CLI's SDK takes every error response for clock skew and backs off for tens of seconds.
    if active() and timestamp is None and time_machine.escape_hatch.is_travelling():
        return email.utils.formatdate(time_machine.escape_hatch.time.time(), usegmt=True)
    return _original_date_time_string(self, timestamp)


def install() -> None:
    MotoRequestHandler.date_time_string = _date_time_string  # type: ignore[method-assign,assignment]
