"""TOTP codes of the demo's seeded people, as their authenticator apps would show them.

A code is accepted once per time step, and a test may sign the same person in several times
a minute: each answer uses the next step, from the current one to one ahead (so a slow browser
crossing a step boundary still answers inside the ±1-step window), that the demo has not
been given yet (per demo instance), waiting for the clock when those are spent.
"""

from __future__ import annotations

import time

from idp import totp
from tongxing.demo_data import totp_secret

# (demo instance, login) -> the last step answered
_ANSWERED: dict[tuple[str, str], int] = {}


def code(login: str, *, demo: str) -> str:
    """A code for ``login`` that the demo at ``demo`` (its base URL or any name of the
    instance) has not accepted yet."""
    while True:
        current = totp.step_of(time.time())
        last = _ANSWERED.get((demo, login))
        step = current if last is None else max(last + 1, current)
        if step <= current + totp.DRIFT_STEPS:
            _ANSWERED[(demo, login)] = step
            return totp.code_at(totp_secret(login), step)
        time.sleep((current + 1) * totp.STEP_SECONDS - time.time() + 0.05)
