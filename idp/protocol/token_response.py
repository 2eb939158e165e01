"""The tokens one grant yields (RFC 6749 §5.1, OIDC Core §3.1.3.3): an RFC 9068 access
token for our userinfo endpoint, an ID token, and a rotating refresh token.

Security contract: the access token's audience is the userinfo endpoint and it carries the
grant id (``gid``) so introspection and userinfo can refuse tokens of revoked grants; the
ID token's ``at_hash`` binds it to the access token; refresh tokens are issued only to
clients registered for the ``refresh_token`` grant.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy.orm import Session

from idp import agents, grants, repository, role_scopes
from idp.models import Client, Grant, User
from idp.protocol import id_token, oidc_core
from idp.protocol.pairwise import DATA_KEY_PURPOSE as PAIRWISE_KEY
from idp.runtime import IdentityProvider
from keys import access_tokens, token_keys
from keys.stores import SigningKey

USERINFO_PATH = "/userinfo"


def acting_for(session: Session, grant: Grant) -> oidc_core.ActingFor | None:
    """The organisation the grant's person acts for: as a member while still one, as its
    agent (经办人) while the authorisation the grant was made under is current."""
    organisation_id = grant.context.get("organisation_id")
    if not organisation_id or grant.user_id is None:
        return None
    if grant.context.get(agents.CONTEXT_KEY):
        agent = agents.acting_as_agent(session, grant)
        if agent is None:
            return None
        return oidc_core.ActingFor(organisation=agent[0], role="agent", authorisation_id=agent[1])
    membership = repository.membership(
        session, organisation_id=organisation_id, user_id=grant.user_id
    )
    organisation = repository.organisation(session, organisation_id)
    if membership is None or organisation is None or organisation.disabled:
        return None
    return oidc_core.ActingFor(organisation=organisation, role=membership.role)


def issue(
    session: Session,
    *,
    idp: IdentityProvider,
    client: Client,
    user: User,
    grant: Grant,
    scopes: list[str],
    nonce: str | None,
    with_refresh_token: bool,
) -> dict[str, Any]:
    """The token response for ``grant``."""
    context = grant.context
    sub = oidc_core.subject(
        client=client, user_id=user.id, pairwise_key=idp.data_keys.get(session, PAIRWISE_KEY)
    )
    lifetime = idp.access_token_lifetime
    # Administrator scopes only while the person holds the role (checked at every issue,
    # refresh included); such a token is also for the admin API, which knows the person by
    # ``sub`` (so the console's client uses public subjects) and the organisation by ``org``.
    scopes = role_scopes.held(
        session,
        user_id=user.id,
        organisation_id=context.get("organisation_id"),
        scopes=scopes,
    )
    scope = " ".join(scopes)
    userinfo = idp.issuer + USERINFO_PATH
    audience: str | list[str] = userinfo
    extra: dict[str, Any] = {
        "gid": grant.id,
        "sid": grant.sid,
        "auth_time": context["auth_time"],
        "acr": context["acr"],
        "amr": context["amr"],
    }
    if role_scopes.ADMIN_SCOPES.intersection(scopes):
        audience = [userinfo, idp.issuer + role_scopes.ADMIN_RESOURCE]
        if role_scopes.ORG_ADMIN_SCOPE in scopes:
            extra["org"] = context.get("organisation_id")
    access_token = access_tokens.mint(
        session,
        custody=idp.custody,
        issuer=idp.issuer,
        audience=audience,
        subject=sub,
        client_id=client.client_id,
        scope=scope,
        lifetime=lifetime,
        extra=extra,
    )
    org = acting_for(session, grant)
    claims = id_token.claims(
        issuer=idp.issuer,
        client_id=client.client_id,
        subject=sub,
        auth_time=context["auth_time"],
        now=int(time.time()),
        lifetime=idp.settings.id_token_ttl_seconds,
        acr=context["acr"],
        amr=context["amr"],
        sid=grant.sid or "",
        nonce=nonce,
        access_token=access_token,
        organisation=(
            id_token.Organisation(
                uscc=org.organisation.uscc,
                name=org.organisation.name,
                role=org.role,
                authorisation_id=org.authorisation_id,
            )
            if org
            else None
        ),
    )
    body: dict[str, Any] = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "scope": scope,
        "id_token": id_token.sign(key=_id_token_key(session, idp, client), claim_set=claims),
    }
    if with_refresh_token and "refresh_token" in client.grant_types:
        body["refresh_token"] = grants.issue_refresh_token(
            session, grant=grant, lifetime=idp.refresh_token_lifetime
        )
    return body


def _id_token_key(session: Session, idp: IdentityProvider, client: Client) -> SigningKey:
    """The client's registered ID-token algorithm (OIDC Registration
    ``id_token_signed_response_alg``): RS256 on request, our primary algorithm otherwise."""
    if client.extra.get("id_token_signed_response_alg") == "RS256":
        return token_keys.rs256_signing_key(
            session, custody=idp.custody, events=idp.events, actor="idp"
        )
    return token_keys.active_signing_key(session, idp.custody)
