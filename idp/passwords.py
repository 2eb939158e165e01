"""Password hashing with argon2id at OWASP's recommended cost (m=46 MiB, t=1, p=1).

Security contract: only argon2id hashes are stored; verification is constant-time inside
argon2; a hash made with older parameters is reported as needing a rehash so logins
upgrade it. A failed check costs the same as a successful one (a dummy hash is verified
for unknown accounts, so response time does not reveal which usernames exist).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # bound the hashing work an attacker can ask for

_HASHER = PasswordHasher(
    time_cost=1, memory_cost=47104, parallelism=1, hash_len=32, salt_len=16, type=Type.ID
)
_DUMMY = _HASHER.hash("tongxing timing equaliser")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# At most one argon2id computation per core this process may run on; the others wait their
# turn. More at once only time-slice the same cores: each holds its 46 MiB meanwhile (8
# sign-ins in flight: 368 MiB) and they evict each other's blocks from the caches, so each
# costs more CPU (about 5 % at 8 in flight on one core, bench/README.md) and none finishes
# sooner on average. The hash itself is unchanged: same parameters, same work per attempt.
_SLOTS = threading.BoundedSemaphore(_cores())


@contextmanager
def _slot() -> Iterator[None]:
    with _SLOTS:
        yield


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says why."""


def check_policy(password: str) -> None:
    """At least ``MIN_LENGTH`` characters, not only digits, not absurdly long."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"passwords need at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"passwords have at most {MAX_LENGTH} characters")
    if password.isdigit():
        raise WeakPassword("a password must not be only digits")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (after the policy check)."""
    check_policy(password)
    with _slot():
        return _HASHER.hash(password)


def rehash(password: str) -> str:
    """A fresh hash of a password that just verified (no policy check: it was accepted
    under the policy of its time and the person is not choosing it now)."""
    with _slot():
        return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> tuple[bool, bool]:
    """(matches, needs_rehash). ``stored`` None (unknown account) still costs a hash."""
    if len(password) > MAX_LENGTH:
        return False, False
    try:
        with _slot():
            _HASHER.verify(stored or _DUMMY, password)
    except (VerificationError, InvalidHashError):
        return False, False
    if stored is None:
        return False, False
    return True, _HASHER.check_needs_rehash(stored)
