"""Token introspection (RFC 7662) and revocation (RFC 7009) for our access and refresh tokens.

Security contract: only authenticated confidential clients may ask; a client learns about
its own tokens only (anything else is ``{"active": false}``, §2.2 lets us say no more);
an access token is active while its signature, issuer and lifetime check out, its grant is
not revoked and its person enabled; a refresh token while unspent, unexpired and its grant
active. Revoking either revokes the whole grant (RFC 7009 §2.1 lets revocation of one token
cover its grant); unknown tokens
are answered with success (§2.2) so nothing can be probed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from idp import grants, repository
from idp.errors import InvalidClient
from idp.models import Client, Grant
from idp.runtime import IdentityProvider
from keys.access_tokens import ACCESS_TOKEN_TYPES, TokenError

INACTIVE: dict[str, Any] = {"active": False}


def _access_token(idp: IdentityProvider, token: str) -> dict[str, Any] | None:
    if token.count(".") != 2:
        return None
    try:
        _, claims = idp.tokens.verify_signature(token, types=ACCESS_TOKEN_TYPES)
        idp.tokens.check_lifetime(claims)
    except TokenError:
        return None
    return claims


def _grant_of(
    session: Session, token: str, claims: dict[str, Any] | None
) -> tuple[Grant, dict[str, Any] | None] | None:
    found: tuple[Grant, dict[str, Any] | None] | None
    if claims is not None:
        grant_id = claims.get("gid")
        grant = grants.active(session, grant_id) if isinstance(grant_id, str) else None
        found = (grant, claims) if grant is not None else None
    else:
        state = grants.refresh_token_state(session, token)
        found = (state[1], None) if state is not None else None
    if found is None or found[0].user_id is None:
        return None
    user = repository.user(session, found[0].user_id)
    return found if user is not None and not user.disabled else None


def introspect(idp: IdentityProvider, *, client: Client, token: str) -> dict[str, Any]:
    """The introspection response for ``token`` as seen by ``client``."""
    if client.auth_method == "none":
        raise InvalidClient("public clients cannot introspect tokens")
    if not token or len(token) > 8192:
        return INACTIVE
    claims = _access_token(idp, token)
    if claims is not None and "gid" not in claims:
        # A client-credentials token: no grant behind it, active while it lives.
        if claims.get("client_id") != client.client_id:
            return INACTIVE
        return {"active": True, "token_type": "Bearer", **_public(claims)}
    with idp.database.reading() as session:
        found = _grant_of(session, token, claims)
        if found is None or found[0].client_id != client.client_id:
            return INACTIVE
        grant, access_claims = found
        if access_claims is not None:
            return {"active": True, "token_type": "Bearer", **_public(access_claims)}
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": grant.client_id,
            "scope": " ".join(grant.scopes),
            "iss": idp.issuer,
        }


def _public(claims: dict[str, Any]) -> dict[str, Any]:
    keep = (
        "scope",
        "client_id",
        "sub",
        "aud",
        "iss",
        "exp",
        "iat",
        "nbf",
        "jti",
        "acr",
        "auth_time",
        "sid",
    )
    return {k: claims[k] for k in keep if k in claims}


def revoke(idp: IdentityProvider, *, client: Client, token: str) -> None:
    """Revoke the grant behind ``token`` if it belongs to ``client``; silent otherwise."""
    if not token or len(token) > 8192:
        return
    claims = _access_token(idp, token)  # before the write lock: it may read the keys
    revoked = False
    with idp.database.transaction() as session:
        found = _grant_of(session, token, claims)
        if found is None or found[0].client_id != client.client_id:
            return
        revoked = grants.revoke(session, found[0].id, reason="revoked-by-client")
        if revoked:
            idp.events.record(
                session,
                type="grant.revoked",
                actor=client.client_id,
                subject=found[0].id,
                details={"reason": "revoked-by-client"},
            )
    if revoked:
        idp.grant_revoked(found[0].id)
