"""Costly, deterministic derivations remembered within a test process: the KEK's scrypt and
the argon2id hash of a test password.

Every test builds an app (which derives its KEK) and most create people with the same few
passwords; at production cost those two were a quarter of the suite's time. The first call
with given inputs still runs for real (the password policy included), and a later one gets
that same result: an argon2id hash of the same password verifies like a fresh one, and
scrypt of the same secret, salt and parameters is the same key. Signing in still verifies
the password for real. Only this process is affected; servers the tests start run as is.
"""

from __future__ import annotations

import hashlib
from typing import ClassVar

from idp import passwords
from keys import envelope

_real_scrypt = envelope.Scrypt
_real_hash_password = passwords.hash_password
_hashes: dict[str, str] = {}


class _RememberedScrypt:
    """``cryptography``'s Scrypt, remembering what it derived for the same inputs."""

    _derived: ClassVar[dict[tuple[bytes, int, int, int, int, bytes], bytes]] = {}

    def __init__(self, *, salt: bytes, length: int, n: int, r: int, p: int) -> None:
        self._inputs = (salt, length, n, r, p)

    def derive(self, secret: bytes) -> bytes:
        key = (*self._inputs, hashlib.sha256(secret).digest())
        if key not in self._derived:
            salt, length, n, r, p = self._inputs
            self._derived[key] = _real_scrypt(salt=salt, length=length, n=n, r=r, p=p).derive(
                secret
            )
        return self._derived[key]


def _remembered_hash_password(password: str) -> str:
    if password not in _hashes:
        _hashes[password] = _real_hash_password(password)
    return _hashes[password]


def install() -> None:
    """Remember scrypt derivations and password hashes in this test process."""
    envelope.Scrypt = _RememberedScrypt  # type: ignore[misc,assignment]
    passwords.hash_password = _remembered_hash_password
