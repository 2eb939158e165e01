"""Client secrets: high-entropy values stored as HMAC-SHA-256 digests under a data key.

A slow password hash would only burn the token endpoint's throughput: these secrets are
random (at least 20 characters when supplied, 43 when generated), so a keyed digest is
enough to make a stolen database useless. Comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

MIN_LENGTH = 20
DATA_KEY_PURPOSE = "client-secret-digest"


class WeakSecret(ValueError):
    """A supplied client secret is too short or too repetitive."""


def generate() -> str:
    """A new secret (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def check_strength(secret: str) -> None:
    """Supplied secrets must be long and not trivially repetitive."""
    if len(secret) < MIN_LENGTH:
        raise WeakSecret(f"client secrets need at least {MIN_LENGTH} characters")
    if len(set(secret)) < 8:
        raise WeakSecret("the client secret is too repetitive")


def digest(secret: str, *, key: bytes) -> bytes:
    """The stored form of ``secret``."""
    return hmac.new(key, secret.encode(), hashlib.sha256).digest()


def matches(secret: str, *, stored: bytes | None, key: bytes) -> bool:
    """Whether ``secret`` is the one whose digest is ``stored`` (constant time)."""
    candidate = digest(secret, key=key)
    return stored is not None and hmac.compare_digest(candidate, stored)
