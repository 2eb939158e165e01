"""Logout tokens for OpenID Connect Back-Channel Logout 1.0 (§2.4).

Security contract: ``typ: logout+jwt``; ``iss``, ``aud`` (the client), ``iat``, ``exp``
(two minutes), a unique ``jti``, ``sid`` and the ``sub`` that client knows, the
back-channel ``events`` member — and never a ``nonce`` (§2.4, so a logout token can never
pass as an ID token).
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from keys.jws import sign_compact
from keys.stores import SigningKey

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LIFETIME = 120


def claims(*, issuer: str, client_id: str, subject: str, sid: str) -> dict[str, Any]:
    """The logout token's claim set."""
    now = int(time.time())
    return {
        "iss": issuer,
        "aud": client_id,
        "iat": now,
        "exp": now + LIFETIME,
        "jti": secrets.token_urlsafe(16),
        "sub": subject,
        "sid": sid,
        "events": {EVENT: {}},
    }


def sign(*, key: SigningKey, claim_set: dict[str, Any]) -> str:
    """The compact JWS logout token."""
    return sign_compact(key=key, claims=claim_set, typ="logout+jwt")
