"""Fixtures of the scale tests (see scale_helpers)."""

from scale_helpers import moto_account

__all__ = ["moto_account"]
