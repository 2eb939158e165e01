"""The refresh token grant with rotation and reuse detection (RFC 6749 §6, Security BCP
§4.14.2).

Security contract: a refresh token works only for the client it was issued to; each use
returns a new one and spends the old; a spent token presented again revokes the whole grant
(the thief and the victim both lose it, and the person signs in again); a grant without
``offline_access`` ends with the SSO session it was made in; a requested
``scope`` may only narrow the grant's scopes; a disabled person gets nothing; a grant made
under an agent authorisation (idp.agents) that was revoked or has expired is revoked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from idp import agents, grants, repository
from idp.errors import InvalidGrant, InvalidRequest, InvalidScope, UnauthorizedClient
from idp.models import Client, Grant
from idp.protocol import token_response
from idp.runtime import IdentityProvider


def grant(idp: IdentityProvider, *, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    """The token response for a refresh token, or an OAuth error."""
    if "refresh_token" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the refresh_token grant")
    token = form.get("refresh_token")
    if not token:
        raise InvalidRequest("refresh_token is missing")
    reused: str | None = None
    ended = False
    agent_ended: list[agents.Ended] | None = None
    with idp.database.transaction() as session:
        rotation = grants.use_refresh_token(session, token, client_id=client.client_id)
        if rotation.reused_grant_id is not None:
            reused = rotation.reused_grant_id
            if grants.revoke(session, reused, reason="refresh-token-reuse"):
                idp.events.record(
                    session,
                    type="grant.revoked",
                    actor=client.client_id,
                    subject=reused,
                    details={"reason": "refresh-token-reuse"},
                )
        elif rotation.grant is not None and _outlived(idp, rotation.grant):
            grants.revoke(session, rotation.grant.id, reason="session-ended")
            ended = True
        elif rotation.grant is not None and agents.ended_for(session, rotation.grant):
            # Revoked or expired (the expiry noticed now, if no one noticed it before).
            agent_ended = agents.expire_one(
                session,
                events=idp.events,
                authorisation_id=str(rotation.grant.context[agents.CONTEXT_KEY]),
            )
            grants.revoke(session, rotation.grant.id, reason="agent-ended")
        elif rotation.grant is not None:
            found = rotation.grant
            scopes = list(found.scopes)
            if form.get("scope") is not None:
                requested = [s for s in form["scope"].split(" ") if s]
                if not set(requested) <= set(scopes):
                    raise InvalidScope("a refresh may not widen the granted scopes")
                scopes = [s for s in scopes if s in requested]
            user = repository.user(session, found.user_id) if found.user_id else None
            if user is None or user.disabled:
                raise InvalidGrant("the account is no longer available")
            return token_response.issue(
                session,
                idp=idp,
                client=client,
                user=user,
                grant=found,
                scopes=scopes,
                nonce=None,
                with_refresh_token=True,
            )
    if reused is not None:
        idp.grant_revoked(reused)
        raise InvalidGrant("the refresh token was used before; the grant is revoked")
    if agent_ended is not None and rotation.grant is not None:
        agents.complete(idp, agent_ended)
        idp.grant_revoked(rotation.grant.id)
        raise InvalidGrant("the agent authorisation of this grant has ended")
    if ended and rotation.grant is not None:
        idp.grant_revoked(rotation.grant.id)
        raise InvalidGrant("the sign-in session of this grant has ended")
    raise InvalidGrant("the refresh token is invalid, expired or revoked")


def _outlived(idp: IdentityProvider, grant: Grant) -> bool:
    """Whether a grant without ``offline_access`` has outlived its SSO session (ended by
    logout or simply expired)."""
    return "offline_access" not in grant.scopes and not idp.sessions.alive(grant.sid)
