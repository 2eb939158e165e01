"""The userinfo response for a verified access token (OIDC Core §5.3).

Security contract: the access token must be ours, for the userinfo audience, with the
``openid`` scope (checked by the caller's verifier); its grant (``gid``) must still be
active and its person enabled — a token of a revoked grant (logout, code replay, refresh
reuse) gets nothing even before it expires.
"""

from __future__ import annotations

from typing import Any

from idp import grants, repository
from idp.models import Client
from idp.protocol import oidc_core, token_response
from idp.runtime import IdentityProvider
from keys.access_tokens import AccessToken, TokenError


def claims(idp: IdentityProvider, token: AccessToken) -> dict[str, Any]:
    """The claims the token's scopes release, or :class:`TokenError`."""
    grant_id = token.claims.get("gid")
    if not isinstance(grant_id, str):
        raise TokenError("the token was not issued for userinfo")
    with idp.database.reading() as session:
        grant = grants.active(session, grant_id)
        if grant is None or grant.user_id is None:
            raise TokenError("the token has been revoked")
        user = repository.user(session, grant.user_id)
        client: Client | None = repository.client(session, grant.client_id)
        if user is None or user.disabled or client is None or client.disabled:
            raise TokenError("the token has been revoked")
        acting_for = token_response.acting_for(session, grant)
    return oidc_core.userinfo_claims(
        user=user, scopes=sorted(token.scopes), sub=token.subject, acting_for=acting_for
    )
