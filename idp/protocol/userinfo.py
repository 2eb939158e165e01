"""The userinfo response for a verified access token (OIDC Core §5.3).

Security contract: the access token must be ours, for the userinfo audience, with the
``openid`` scope (checked by the caller's verifier); its grant (``gid``) must not be revoked
— a revocation (logout, code replay, refresh reuse, RFC 7009) is announced through the
shared store and refused at once on every process; the person must be enabled and the
client too (read from the database, remembered per grant for a few seconds, so disabling
a person takes that long to reach tokens already issued).
"""

from __future__ import annotations

import json
from typing import Any

from idp import repository
from idp.protocol import oidc_core, token_response
from idp.runtime import IdentityProvider
from keys.access_tokens import AccessToken, TokenError
from keys.jws import b64url_decode


def claims(idp: IdentityProvider, token: AccessToken) -> dict[str, Any]:
    """The claims the token's scopes release, or :class:`TokenError`."""
    grant_id = token.claims.get("gid")
    if not isinstance(grant_id, str):
        raise TokenError("the token was not issued for userinfo")
    if idp.is_grant_revoked(grant_id):
        raise TokenError("the token has been revoked")
    view = idp.userinfo_cache.get(grant_id)
    if view is None:
        with idp.database.reading() as session:
            found = repository.userinfo_view(session, grant_id)
            if found is None:
                raise TokenError("the token has been revoked")
            grant, user, client_enabled = found
            if grant.revoked_at is not None or user.disabled or not client_enabled:
                raise TokenError("the token has been revoked")
            view = (user, token_response.acting_for(session, grant))
        idp.userinfo_cache.put(grant_id, view)
    user, acting_for = view
    return oidc_core.userinfo_claims(
        user=user, scopes=sorted(token.scopes), sub=token.subject, acting_for=acting_for
    )


def is_cached(idp: IdentityProvider, token: str) -> bool:
    """Whether the person behind ``token`` is remembered (so answering needs no database);
    the token is not verified here."""
    try:
        payload = token.split(".")[1]
        grant_id = json.loads(b64url_decode(payload)).get("gid")
    except (IndexError, ValueError, AttributeError, RecursionError):
        return False
    return (
        isinstance(grant_id, str)
        and idp.userinfo_cache.get(grant_id) is not None
        and idp.tokens.recently_verified(token)
    )
