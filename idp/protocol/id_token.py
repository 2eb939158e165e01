"""ID tokens (OIDC Core §2, §3.1.3.6): claims and signature.

Security contract: every ID token carries ``iss``, ``sub``, ``aud`` (the client), ``exp``,
``iat``, ``auth_time``; ``nonce`` exactly as the authorization request sent it; ``at_hash``
when an access token is issued alongside (left half of its SHA-256, base64url — both our
algorithms use SHA-256); ``acr``/``amr``/``sid`` as the login produced them; and, when the
person acts for an organisation, ``org`` with its code, name and their role (``admin``,
``member`` or ``agent``; an agent's also names the authorisation, ``authorisation_id``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from typing import Any

from keys.jws import sign_compact
from keys.stores import SigningKey


def at_hash(access_token: str) -> str:
    """OIDC Core §3.1.3.6 for SHA-256 based algorithms."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


@dataclass(frozen=True)
class Organisation:
    """The organisation a person chose to act for."""

    uscc: str
    name: str
    role: str
    # For an agent (经办人): the authorisation the person acts under.
    authorisation_id: str | None = None


def claims(
    *,
    issuer: str,
    client_id: str,
    subject: str,
    auth_time: int,
    now: int,
    lifetime: int,
    acr: str,
    amr: list[str],
    sid: str,
    nonce: str | None = None,
    access_token: str | None = None,
    organisation: Organisation | None = None,
) -> dict[str, Any]:
    """The ID token's claim set."""
    body: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "azp": client_id,
        "exp": now + lifetime,
        "iat": now,
        "auth_time": auth_time,
        "acr": acr,
        "amr": list(amr),
        "sid": sid,
    }
    if nonce is not None:
        body["nonce"] = nonce
    if access_token is not None:
        body["at_hash"] = at_hash(access_token)
    if organisation is not None:
        body["org"] = {
            "code": organisation.uscc,
            "name": organisation.name,
            "role": organisation.role,
        }
        if organisation.authorisation_id is not None:
            body["org"]["authorisation_id"] = organisation.authorisation_id
    return body


def sign(*, key: SigningKey, claim_set: dict[str, Any]) -> str:
    """The compact JWS ID token (``typ: JWT``)."""
    return sign_compact(key=key, claims=claim_set, typ="JWT")
