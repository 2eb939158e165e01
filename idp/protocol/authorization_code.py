"""The authorization code grant at the token endpoint (RFC 6749 §4.1.3, OIDC Core §3.1.3).

Security contract: the code is single use — a replay gets ``invalid_grant`` and revokes
the grant (every token) the first redemption produced; the code must have been issued to
the authenticated client, for exactly this ``redirect_uri``; the PKCE ``code_verifier`` must
match the S256 challenge (RFC 7636 §4.6); the SSO session it was issued in must still be
going (a logout in between would otherwise leave tokens no logout can reach); the person
must still exist and be enabled; a code issued under an agent authorisation (经办人) that has
ended since gets ``invalid_grant`` (and its grant is revoked), never tokens acting for
oneself in its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp import agents, grants, repository
from idp.errors import InvalidGrant, InvalidRequest, UnauthorizedClient
from idp.models import Client
from idp.protocol import rfc7636, token_response
from idp.runtime import IdentityProvider


def grant(idp: IdentityProvider, *, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    """The token response for a code, or an OAuth error."""
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization_code grant")
    code, redirect_uri = form.get("code"), form.get("redirect_uri")
    verifier = form.get("code_verifier")
    if not code:
        raise InvalidRequest("code is missing")
    if not redirect_uri:
        raise InvalidRequest("redirect_uri is missing")
    if not verifier:
        raise InvalidRequest("code_verifier is missing (PKCE is required)")
    redemption = idp.codes.redeem(code)
    found = redemption.grant
    if found is None:
        if redemption.replayed_grant_id is not None:
            with idp.database.transaction() as session:
                revoked = grants.revoke(session, redemption.replayed_grant_id, reason="code-replay")
                if revoked:
                    idp.events.record(
                        session,
                        type="grant.revoked",
                        actor=client.client_id,
                        subject=redemption.replayed_grant_id,
                        details={"reason": "code-replay"},
                    )
            idp.grant_revoked(redemption.replayed_grant_id)
            raise InvalidGrant("the code has already been used; its tokens are revoked")
        raise InvalidGrant("the code is invalid or has expired")
    if found.client_id != client.client_id:
        raise InvalidGrant("the code was issued to another client")
    if found.redirect_uri != redirect_uri:
        raise InvalidGrant("redirect_uri differs from the authorization request")
    rfc7636.verify(verifier=verifier, challenge=found.code_challenge)
    if not idp.sessions.alive(found.sid):  # signed out between the code and its redemption
        raise InvalidGrant("the sign-in session of this code has ended")
    with idp.database.transaction() as session:
        user = repository.user(session, found.user_id)
        if user is None or user.disabled:
            raise InvalidGrant("the account is no longer available")
        try:
            created = grants.create(
                session,
                grant_id=found.grant_id,
                client_id=client.client_id,
                user_id=user.id,
                sid=found.sid,
                scopes=found.scopes,
                context={
                    "auth_time": found.auth_time,
                    "acr": found.acr,
                    "amr": found.amr,
                    "organisation_id": found.organisation_id,
                    **(
                        {agents.CONTEXT_KEY: found.agent_authorisation_id}
                        if found.agent_authorisation_id
                        else {}
                    ),
                },
            )
        except grants.GrantRevoked:
            raise InvalidGrant("the code has already been used; its tokens are revoked") from None
        # Made under an agent authorisation that ended since the code: no tokens acting for
        # oneself in its place; the grant is revoked (committed) and the code answered
        # invalid_grant.
        agent_ended = agents.ended_for(session, created)
        if agent_ended:
            grants.revoke(session, created.id, reason="agent-ended")
            idp.events.record(
                session,
                type="grant.revoked",
                actor=client.client_id,
                subject=created.id,
                details={"reason": "agent-ended"},
            )
        else:
            return token_response.issue(
                session,
                idp=idp,
                client=client,
                user=user,
                grant=created,
                scopes=found.scopes,
                nonce=found.nonce,
                with_refresh_token=True,
            )
    idp.grant_revoked(created.id)
    raise InvalidGrant("the agent authorisation this code was issued under has ended")
