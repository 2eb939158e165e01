"""Readiness probes: each dependency the service needs says whether it can serve now."""

from __future__ import annotations

from collections.abc import Callable


class NotReady(RuntimeError):
    """A dependency cannot serve; the message is one line, fit for /readyz, with no secret."""


Probe = Callable[[], None]
