"""The upstream's ID token as our SSO session keeps it: sealed with a data key.

We keep it to send as the ``id_token_hint`` of our logout's call to the upstream's
end-session endpoint (OIDC RP-Initiated Logout §2). Its claims can carry the person's
identity number and phone (what the provincial platform asserts), and the session lives in
the shared store (Redis): sealed, a copy of the store holds no personal data in clear.
AES-256-GCM under the ``upstream-id-token`` data key (kept sealed under the KEK like every
data key), bound to the upstream's id. A session from before sealing holds the token in
clear and is read as it is.
"""

from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from idp.runtime import IdentityProvider

PURPOSE = "upstream-id-token"
PREFIX = "sealed."
_NONCE = 12


def _key(idp: IdentityProvider) -> bytes:
    key = idp.data_keys.cached(PURPOSE)
    if key is None:
        with idp.database.transaction() as session:  # created on first use
            key = idp.data_keys.get(session, PURPOSE)
    return key


def seal(idp: IdentityProvider, token: str, *, upstream_id: str) -> str:
    """``token`` sealed for the session (text, so the session stays JSON)."""
    nonce = os.urandom(_NONCE)
    sealed = AESGCM(_key(idp)).encrypt(nonce, token.encode(), upstream_id.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def open_sealed(idp: IdentityProvider, kept: str, *, upstream_id: str) -> str | None:
    """The token a session kept (None when it cannot be opened: then no hint is sent, and
    the upstream asks the person to confirm its logout)."""
    if not kept.startswith(PREFIX):
        return kept or None  # a session from before sealing
    text = kept.removeprefix(PREFIX)
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        opened = AESGCM(_key(idp)).decrypt(raw[:_NONCE], raw[_NONCE:], upstream_id.encode())
    except (ValueError, InvalidTag):
        return None
    return opened.decode()
