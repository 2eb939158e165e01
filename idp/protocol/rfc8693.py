"""OAuth 2.0 Token Exchange (RFC 8693) for delegation: a department app exchanges the access
token a person's sign-in gave it for one aimed at another of our resource servers, with an
``act`` claim naming the app (§4.1).

Security contract:

- The app is authenticated by the token endpoint; it needs a registered pair
  (``idp.token_exchange``): none at all, or a public client, is ``unauthorized_client``
  (RFC 6749 §5.2).
- Exactly one target, by ``resource`` or ``audience`` (§2.1), naming ``<issuer><path>`` of a
  pair registered for this app; anything else is ``invalid_target`` (§2.2.2).
- ``subject_token_type`` is an access token (or JWT); no ``actor_token`` (the app itself is
  the actor); ``requested_token_type``, if given, an access token: else ``invalid_request``.
- The subject token is ours (signature, issuer, expiry), for userinfo, issued to this very
  app, a person's (``gid``) whose grant is active in SQL and not announced revoked, the
  grant's SSO session (``sid``) is still going, and the person is enabled; otherwise
  ``invalid_request``, as §2.2.2 requires for an invalid or unacceptable subject token.
- ``scope`` may only narrow the pair's scopes (``invalid_scope``).
- The issued token (RFC 9068): audience the target, the subject token's ``sub``,
  ``client_id`` and ``act.sub`` the app, the same ``gid`` (revoking the person's grant stops
  it too), ``amr``/``auth_time`` of the sign-in, ``acr`` the lower of the sign-in's and
  what the person's current proofing level allows, ``org`` (code, name, role, and for an
  agent the authorisation) while the person still acts for that organisation (a grant made
  under an agent authorisation that has ended is ``invalid_request``, never a token acting
  for oneself); it lives
  no longer than the subject token, than :data:`MAX_EXCHANGED_LIFETIME` (the sealing API
  learns of revocations only from the store's announcement) and than the agent
  authorisation it acts under; no refresh token. Every exchange is an audit event
  (``token.exchanged``, with the person's ``sub`` and, for an agent, the authorisation);
  every refusal after client authentication too (``token.exchange_refused``: the error
  and its reason, never the token).

Not checked here: what the target then allows (the sealing API checks the app's seal grant,
the seal's organisation and the sign-in's level).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.clock import as_utc
from idp import agents, assurance, grants, repository
from idp.errors import (
    InvalidRequest,
    InvalidScope,
    InvalidTarget,
    OAuthError,
    UnauthorizedClient,
)
from idp.models import Client
from idp.protocol import oidc_core, token_response
from idp.runtime import IdentityProvider
from idp.token_exchange import PUBLIC, TARGETS
from keys import access_tokens
from keys.access_tokens import TokenError

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a type name
JWT_TYPE = "urn:ietf:params:oauth:token-type:jwt"
# The longest an exchanged token lives. The sealing API cannot read the IdP's SQL: it learns
# of a revoked grant (logout, an ended agent authorisation, a disabled person) only from the
# store's one-off announcement, so a missed announcement must not leave a sealing token
# standing for long.
MAX_EXCHANGED_LIFETIME = timedelta(seconds=120)


def _target(idp: IdentityProvider, form: Mapping[str, str]) -> str:
    """The one target path the request names (``resource`` or ``audience``)."""
    named = {form[k] for k in ("resource", "audience") if form.get(k)}
    if not named:
        raise InvalidRequest("name the target with resource or audience")
    if len(named) != 1:
        raise InvalidTarget("one target per exchange")
    target = named.pop()
    path = target.removeprefix(idp.issuer) if target.startswith(idp.issuer + "/") else None
    if path not in TARGETS:
        raise InvalidTarget("no token is issued for this target")
    return path


def _acr(signed: str, *, proofing_level: int) -> str:
    """The lower of the sign-in's level and what the person's proofing level now allows (a
    lowered proofing level lowers what an exchange vouches for, as in the admin API)."""
    return assurance.acr(min(assurance.level_of(signed) or 1, proofing_level))


def _within_authorisation(
    session: Session, acting: oidc_core.ActingFor, lifetime: timedelta
) -> timedelta:
    """``lifetime``, cut to end with the agent authorisation the person acts under."""
    if acting.authorisation_id is None:
        return lifetime
    authorisation = repository.agent_authorisation(session, acting.authorisation_id)
    if authorisation is None:
        raise InvalidRequest("the person no longer acts for the organisation")
    left = int((as_utc(authorisation.valid_until) - datetime.now(UTC)).total_seconds())
    return min(lifetime, timedelta(seconds=max(left, 1)))


def grant(idp: IdentityProvider, *, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    """The token exchange response (§2.2.1), or an OAuth error (§2.2.2); a refusal of the
    authenticated client is an audit event (``token.exchange_refused``: the error and its
    reason, never the token)."""
    try:
        return _exchange(idp, client=client, form=form)
    except OAuthError as exc:
        with idp.database.transaction() as session:
            idp.events.record(
                session,
                type="token.exchange_refused",
                actor=client.client_id,
                subject=client.client_id,
                details={"error": exc.error, "reason": exc.description},
            )
        raise


def _exchange(idp: IdentityProvider, *, client: Client, form: Mapping[str, str]) -> dict[str, Any]:
    subject_token = form.get("subject_token")
    if not subject_token:
        raise InvalidRequest("subject_token is missing")
    if form.get("subject_token_type") not in (ACCESS_TOKEN_TYPE, JWT_TYPE):
        raise InvalidRequest("subject_token_type must be an access token")
    if "actor_token" in form or "actor_token_type" in form:
        raise InvalidRequest("actor tokens are not supported: the client is the actor")
    if form.get("requested_token_type", ACCESS_TOKEN_TYPE) != ACCESS_TOKEN_TYPE:
        raise InvalidRequest("only access tokens are issued")
    if client.auth_method == PUBLIC:  # never registered; refused even if a pair exists
        raise UnauthorizedClient("a public client may not exchange tokens")
    with idp.database.reading() as session:
        pairs = {
            p.resource: p for p in repository.exchange_pairs(session, client_id=client.client_id)
        }
    if not pairs:
        raise UnauthorizedClient("this client may not exchange tokens")
    path = _target(idp, form)
    pair = pairs.get(path)
    if pair is None:
        raise InvalidTarget("this client may not exchange tokens for this target")
    scopes = list(pair.scopes)
    if form.get("scope") is not None:
        requested = [s for s in form["scope"].split(" ") if s]
        if not requested or not set(requested) <= set(scopes):
            raise InvalidScope(f"the scopes at this target are among {' '.join(scopes)}")
        scopes = [s for s in scopes if s in requested]
    try:
        subject = idp.tokens.verify(
            subject_token,
            audience=idp.issuer + token_response.USERINFO_PATH,
            scope="openid",
        )
    except TokenError:
        raise InvalidRequest("the subject token is invalid or expired") from None
    if subject.client_id != client.client_id:
        raise InvalidRequest("the subject token was issued to another client")
    grant_id = subject.claims.get("gid")
    if not isinstance(grant_id, str) or idp.is_grant_revoked(grant_id):
        raise InvalidRequest("the subject token is not a person's, or it is revoked")
    remaining = int(subject.claims["exp"]) - int(time.time())
    lifetime = min(
        idp.access_token_lifetime, MAX_EXCHANGED_LIFETIME, timedelta(seconds=max(remaining, 1))
    )
    with idp.database.transaction() as session:
        found = grants.active(session, grant_id)
        user = repository.user(session, found.user_id) if found and found.user_id else None
        if found is None or found.client_id != client.client_id or user is None or user.disabled:
            raise InvalidRequest("the subject token is revoked")
        # A sealing token is for a person signed in now: not after a logout, nor from a grant
        # that belongs to no sign-in session.
        if not idp.sessions.alive(found.sid):
            raise InvalidRequest("the person's sign-in has ended")
        acting = token_response.acting_for(session, found)
        if acting is None and agents.ended_for(session, found):
            raise InvalidRequest("the agent authorisation the person acted under has ended")
        extra: dict[str, Any] = {
            "gid": found.id,
            "act": {"sub": client.client_id},
            "auth_time": found.context["auth_time"],
            "acr": _acr(found.context["acr"], proofing_level=user.proofing_level),
            "amr": found.context["amr"],
        }
        if acting is not None:
            extra["org"] = acting.claim()
            lifetime = _within_authorisation(session, acting, lifetime)
        scope = " ".join(scopes)
        access_token = access_tokens.mint(
            session,
            custody=idp.custody,
            issuer=idp.issuer,
            audience=idp.issuer + path,
            subject=subject.subject,
            client_id=client.client_id,
            scope=scope,
            lifetime=lifetime,
            extra=extra,
        )
        idp.events.record(
            session,
            type="token.exchanged",
            actor=client.client_id,
            subject=found.id,
            details={
                "resource": path,
                "scopes": scopes,
                "sub": subject.subject,
                "organisation": extra["org"]["code"] if acting is not None else None,
                "authorisation_id": acting.authorisation_id if acting is not None else None,
            },
        )
    return {
        "access_token": access_token,
        "issued_token_type": ACCESS_TOKEN_TYPE,
        "token_type": "Bearer",
        "expires_in": int(lifetime.total_seconds()),
        "scope": scope,
    }
