"""RP-initiated logout requests and ending SSO sessions: revoke what they granted, prepare
back-channel logout tokens.

Security contract: a logout request (:func:`validate_request`) is refused when its
``id_token_hint`` is not one of our ID tokens (signature and issuer; expiry is not checked,
OIDC RP-Initiated Logout 1.0 §2), when its ``client_id`` differs from the hint's, or when
its ``post_logout_redirect_uri`` is not registered for an enabled client named by the hint
or ``client_id`` (§3); whether the hint matches the browser's session is the caller's to
decide. Ending a session revokes the refresh tokens of every grant issued in it
(except ``offline_access`` grants, which the person allowed to outlive the session); every
client that received tokens in the session and registered a back-channel logout URI gets
a logout token with the ``sub`` it knows; each delivery is recorded (pending, then
delivered or failed); every CAS service that received a ticket in the session gets a SAML
``LogoutRequest`` naming that ticket (:func:`cas_deliveries`); the logout itself is an audit
event.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from idp import grants, repository
from idp.models import Client, LogoutDelivery
from idp.protocol import backchannel_logout, cas, id_token_hint, oidc_core
from idp.protocol.pairwise import DATA_KEY_PURPOSE as PAIRWISE_KEY
from idp.runtime import IdentityProvider
from idp.sessions import SsoSession
from keys import token_keys


class LogoutRefused(ValueError):
    """The logout request cannot be honoured (the reason is shown on our page, never sent
    to an unverified redirect URI)."""


@dataclass(frozen=True)
class LogoutRequest:
    """A logout request after the spec's checks."""

    client_id: str | None
    post_logout_redirect_uri: str | None
    sid: str | None  # the session the id_token_hint was issued in


def validate_request(idp: IdentityProvider, params: dict[str, str]) -> LogoutRequest:
    """``params`` (``client_id``, ``post_logout_redirect_uri``, ``id_token_hint``) checked as
    the module docstring says, or :class:`LogoutRefused`."""
    client_id = params.get("client_id")
    uri = params.get("post_logout_redirect_uri")
    sid = None
    if hint_token := params.get("id_token_hint"):
        try:
            hint = id_token_hint.check(hint_token, verifier=idp.tokens)
        except id_token_hint.InvalidHint as exc:
            raise LogoutRefused(f"id_token_hint: {exc}") from None
        if client_id is not None and client_id != hint.client_id:
            raise LogoutRefused("client_id differs from the id_token_hint's client")
        client_id, sid = hint.client_id, hint.sid
    if uri is not None:
        if client_id is None:
            raise LogoutRefused("post_logout_redirect_uri needs id_token_hint or client_id")
        with idp.database.reading() as session:
            client = repository.client(session, client_id)
        if client is None or client.disabled or uri not in client.post_logout_redirect_uris:
            raise LogoutRefused("post_logout_redirect_uri is not registered for the client")
    return LogoutRequest(client_id=client_id, post_logout_redirect_uri=uri, sid=sid)


@dataclass(frozen=True)
class Delivery:
    """One logout token to post to one client."""

    id: str
    client_id: str
    uri: str
    token: str
    # The form field the token is posted in: a CAS service gets a SAML LogoutRequest in
    # ``logoutRequest`` (CAS 3.0 §2.3.3) instead of a logout token.
    field: str = "logout_token"


def ended(idp: IdentityProvider, sso: SsoSession, *, actor: str, reason: str) -> list[Delivery]:
    """Revoke the ended session's grants and prepare its back-channel deliveries."""
    deliveries: list[Delivery] = []
    now = datetime.now(UTC)
    with idp.database.transaction() as session:
        revoked = []
        for grant in grants.of_session(session, sso.sid):
            if "offline_access" not in grant.scopes:
                grants.revoke(session, grant.id, reason=f"logout:{reason}")
                revoked.append(grant.id)
        for client_id in sso.clients:
            client = repository.client(session, client_id)
            if client is None or client.disabled or not client.backchannel_logout_uri:
                continue
            token = _logout_token(session, idp, client, user_id=sso.user_id, sid=sso.sid)
            delivery = Delivery(
                id=uuid.uuid4().hex,
                client_id=client_id,
                uri=client.backchannel_logout_uri,
                token=token,
            )
            session.add(
                LogoutDelivery(
                    id=delivery.id,
                    client_id=client_id,
                    user_id=sso.user_id,
                    sid=sso.sid,
                    uri=delivery.uri,
                    status="pending",
                    attempts=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            deliveries.append(delivery)
        deliveries += cas_deliveries(
            session, user_id=sso.user_id, sid=sso.sid, tickets=sso.cas_tickets
        )
        idp.events.record(
            session,
            type="logout",
            actor=actor,
            subject=sso.user_id,
            details={
                "sid": sso.sid,
                "clients": list(sso.clients),
                "cas_services": sorted({service_id for service_id, _ in sso.cas_tickets}),
                "reason": reason,
            },
        )
    for grant_id in revoked:
        idp.grant_revoked(grant_id)
    return deliveries


def record_attempt(
    idp: IdentityProvider, delivery_id: str, *, delivered: bool, error: str | None
) -> None:
    """Store the outcome of one delivery attempt."""
    with idp.database.transaction() as session:
        row = session.get(LogoutDelivery, delivery_id)
        if row is None:
            return
        row.attempts += 1
        row.status = "delivered" if delivered else row.status
        row.last_error = None if delivered else (error or "")[:255]
        row.updated_at = datetime.now(UTC)


def give_up(idp: IdentityProvider, delivery_id: str) -> None:
    """Mark a delivery failed after its last attempt."""
    with idp.database.transaction() as session:
        row = session.get(LogoutDelivery, delivery_id)
        if row is not None and row.status == "pending":
            row.status = "failed"
            row.updated_at = datetime.now(UTC)


def _logout_token(
    session: Session, idp: IdentityProvider, client: Client, *, user_id: str, sid: str
) -> str:
    sub = oidc_core.subject(
        client=client, user_id=user_id, pairwise_key=idp.data_keys.get(session, PAIRWISE_KEY)
    )
    return backchannel_logout.sign(
        key=token_keys.active_signing_key(session, idp.custody),
        claim_set=backchannel_logout.claims(
            issuer=idp.issuer, client_id=client.client_id, subject=sub, sid=sid
        ),
    )


def claim_stale(
    idp: IdentityProvider, *, older_than: timedelta, max_attempts: int, limit: int = 50
) -> list[Delivery]:
    """Deliveries left pending by a process that stopped mid-way (nothing touched them for
    ``older_than``), claimed for this process and re-signed (a logout token lives only two
    minutes); those out of attempts, or whose client is gone, are marked failed."""
    now = datetime.now(UTC)
    claimed: list[Delivery] = []
    with idp.database.transaction() as session:
        query = (
            select(LogoutDelivery)
            .where(LogoutDelivery.status == "pending", LogoutDelivery.updated_at < now - older_than)
            .order_by(LogoutDelivery.updated_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # two processes never claim the same row
        )
        for row in session.scalars(query).all():
            client = repository.client(session, row.client_id)
            usable = client is not None and not client.disabled and client.backchannel_logout_uri
            if row.attempts >= max_attempts or not usable or client is None:
                row.status, row.updated_at = "failed", now
                continue
            row.updated_at = now
            token = _logout_token(session, idp, client, user_id=row.user_id, sid=row.sid)
            claimed.append(Delivery(id=row.id, client_id=row.client_id, uri=row.uri, token=token))
    return claimed


def prepare_delivery(
    session: Session, idp: IdentityProvider, *, client: Client, user_id: str, sid: str
) -> Delivery | None:
    """A back-channel logout token for one client and session, recorded as a pending
    delivery (None when the client registered no back-channel URI or is disabled); for
    ending one app's part of a session (a withdrawn consent) without ending the session."""
    if client.disabled or not client.backchannel_logout_uri:
        return None
    now = datetime.now(UTC)
    token = _logout_token(session, idp, client, user_id=user_id, sid=sid)
    delivery = Delivery(
        id=uuid.uuid4().hex,
        client_id=client.client_id,
        uri=client.backchannel_logout_uri,
        token=token,
    )
    session.add(
        LogoutDelivery(
            id=delivery.id,
            client_id=client.client_id,
            user_id=user_id,
            sid=sid,
            uri=delivery.uri,
            status="pending",
            attempts=0,
            created_at=now,
            updated_at=now,
        )
    )
    return delivery


def cas_deliveries(
    session: Session, *, user_id: str, sid: str, tickets: list[list[str]]
) -> list[Delivery]:
    """A SAML ``LogoutRequest`` (CAS 3.0 §2.3.3, Appendix C) for every service ticket a
    session issued (``SsoSession.cas_tickets``: [service id, ticket]), to its service URL,
    when the service is still registered, enabled and takes single logout; each recorded as
    a pending delivery for client ``cas:<service id>`` (so the outcome shows with the
    others). The periodic sweep cannot re-send one (it re-signs logout tokens from a
    client's registration): a CAS delivery a stopped process left pending is marked failed."""
    deliveries = []
    now = time.time()
    stamp = datetime.now(UTC)
    for service_id, ticket in tickets:
        service = repository.cas_service(session, service_id)
        if service is None or service.disabled or not service.single_logout:
            continue
        delivery = Delivery(
            id=uuid.uuid4().hex,
            client_id=f"cas:{service_id}",
            uri=service.service,
            token=cas.logout_request(session_index=ticket, now=now),
            field="logoutRequest",
        )
        session.add(
            LogoutDelivery(
                id=delivery.id,
                client_id=delivery.client_id,
                user_id=user_id,
                sid=sid,
                uri=delivery.uri,
                status="pending",
                attempts=0,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        deliveries.append(delivery)
    return deliveries
