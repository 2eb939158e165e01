"""The client credentials grant (RFC 6749 §4.4) issuing RFC 9068 JWT access tokens.

Security contract: only clients registered for ``client_credentials`` may use it; the
granted scopes are the requested ones, each registered for the client (an unregistered
scope is ``invalid_scope``, never silently dropped); with no ``scope`` the client's
registered scopes are granted, which works only when they all belong to one resource.
The token names exactly one resource as audience.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from idp.errors import InvalidScope, UnauthorizedClient
from idp.models import Client
from idp.resources import audience_for
from keys import access_tokens
from keys.custody import KeyCustody
from keys.stores import SigningKey


def grant(
    session: Session | None,
    *,
    client: Client,
    form: Mapping[str, str],
    custody: KeyCustody,
    issuer: str,
    lifetime: timedelta,
    key: SigningKey | None = None,
) -> dict[str, Any]:
    """The token response (RFC 6749 §5.1) for an authenticated ``client``, signed with
    ``key`` or the active signing key (``session`` is only needed while this process does not
    yet remember it)."""
    if "client_credentials" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the client_credentials grant")
    # RFC 6749 §3.3: scope tokens are separated by single spaces; other whitespace is wrong.
    requested = frozenset(s for s in form.get("scope", "").split(" ") if s)
    if any(not s.isprintable() or s != s.strip() for s in requested):
        raise InvalidScope("scopes are separated by single spaces")
    requested = requested or frozenset(client.scopes)
    if not requested:
        raise InvalidScope("the client has no scopes registered")
    if not requested <= set(client.scopes):
        raise InvalidScope("a requested scope is not registered for this client")
    audience = audience_for(issuer=issuer, scopes=requested, resource=form.get("resource"))
    scope = " ".join(sorted(requested))
    token = access_tokens.mint(
        session,
        custody=custody,
        issuer=issuer,
        audience=audience,
        subject=client.client_id,
        client_id=client.client_id,
        scope=scope,
        lifetime=lifetime,
        key=key,
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "scope": scope,
    }
