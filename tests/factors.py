"""Second factors for test people: TOTP authenticators whose codes the scripted browser
answers on the step-up page.

A code is accepted once per authenticator and time step (replay protection), and tests sign
the same person in many times a minute; so a test person gets several authenticators and
each answer uses the next unspent (authenticator, step) inside the ±1-step window.
"""

from __future__ import annotations

import hashlib
import time

from idp import totp
from tongxing.composition import Domain

AUTHENTICATORS = 10
# user id -> [(secret, last step answered)]
_ENROLLED: dict[str, list[list[object]]] = {}


def enrol_totp(domain: Domain, user_id: str, *, count: int = AUTHENTICATORS) -> list[bytes]:
    """Give the person ``count`` TOTP authenticators; returns their secrets."""
    secrets_ = [hashlib.sha1(f"{user_id}:{i}".encode()).digest() for i in range(count)]
    with domain.keys.database.transaction() as session:
        for i, secret in enumerate(secrets_):
            totp.add(
                session, data_keys=domain.data_keys, user_id=user_id, secret=secret, name=f"t{i}"
            )
    _ENROLLED[user_id] = [[secret, None] for secret in secrets_]
    return secrets_


def next_code(user_id: str) -> str:
    """A code the person's authenticators have not answered yet."""
    current = totp.step_of(time.time())
    for entry in _ENROLLED.get(user_id, []):
        secret, last = entry
        # The current step or later: a code of the previous step stops being accepted when
        # the clock crosses into the next step while a loaded machine is still submitting it.
        step = current if last is None else max(int(last) + 1, current)  # type: ignore[call-overload]
        if step <= current + totp.DRIFT_STEPS:
            entry[1] = step
            return totp.code_at(secret, step)  # type: ignore[arg-type]
    raise AssertionError(f"no TOTP code left for {user_id} in this 30-second window")


def enrolled(user_id: str) -> bool:
    """Whether :func:`enrol_totp` gave the person authenticators."""
    return user_id in _ENROLLED
