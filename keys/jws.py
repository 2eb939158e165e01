"""Compact JWS (RFC 7515 §7.1) signed through a key store, for tokens our IdP issues."""

from __future__ import annotations

import base64
import json
from typing import Any

from keys.algorithms import jws_signature
from keys.stores import SigningKey


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """Inverse of :func:`b64url`; raises ValueError on bad input."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_compact(*, key: SigningKey, claims: dict[str, Any], typ: str) -> str:
    """``header.claims.signature`` with ``alg``/``kid`` from ``key`` and the given ``typ``."""
    header = {"typ": typ, "alg": key.algorithm.value, "kid": key.key_id}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode())
        for part in (header, claims)
    )
    signature = jws_signature(key.algorithm, key.sign(signing_input.encode()))
    return f"{signing_input}.{b64url(signature)}"
