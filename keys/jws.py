"""Compact JWS (RFC 7515 §7.1) signed through a key store, for tokens our IdP issues."""

from __future__ import annotations

import base64
import functools
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


@functools.lru_cache(maxsize=64)
def _encoded_header(typ: str, alg: str, kid: str) -> str:
    # The same few headers for every token a key signs: encoded once per key and type.
    return _encoded({"typ": typ, "alg": alg, "kid": kid})


def _encoded(part: dict[str, Any]) -> str:
    return b64url(json.dumps(part, separators=(",", ":"), ensure_ascii=False).encode())


def sign_compact(*, key: SigningKey, claims: dict[str, Any], typ: str) -> str:
    """``header.claims.signature`` with ``alg``/``kid`` from ``key`` and the given ``typ``."""
    header = _encoded_header(typ, key.algorithm.value, key.key_id)
    signing_input = f"{header}.{_encoded(claims)}"
    signature = jws_signature(key.algorithm, key.sign(signing_input.encode()))
    return f"{signing_input}.{b64url(signature)}"
