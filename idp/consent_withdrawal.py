"""Withdrawing consent to an app from the account page (个人信息保护法 §15): the app loses
what the person allowed it and is signed out of the person's sessions.

Security contract: in one transaction with the ``consent.withdrawn`` audit event, the
person's consent to the client is deleted and every active grant of theirs to that client is
revoked (``offline_access`` ones too: the person withdrew, so refresh tokens fail with
``invalid_grant``); each live SSO session of the person that signed into the client yields a
back-channel logout token for that client alone and stops listing it (the session itself
goes on for the other apps). Revocations are announced to every process after the commit,
so access tokens stop at once. A third-party app asks for consent again at the next
sign-in; a first-party app (no consent page) is signed out and gets a new grant only when
the person signs in to it again.
"""

from __future__ import annotations

from dataclasses import dataclass

from idp import grants, logout, repository
from idp.models import Consent
from idp.runtime import IdentityProvider


@dataclass(frozen=True)
class Withdrawn:
    """What withdrawing ended: grants revoked, logout tokens to deliver."""

    grants_ended: int
    deliveries: list[logout.Delivery]


def withdraw(idp: IdentityProvider, *, user_id: str, client_id: str) -> Withdrawn | None:
    """Withdraw the person's consent to ``client_id`` (None when the person has nothing
    with that client: no consent, grant or live sign-in)."""
    sids = idp.sessions.forget_client(user_id, client_id)
    revoked: list[str] = []
    deliveries: list[logout.Delivery] = []
    with idp.database.transaction() as session:
        consent = session.get(Consent, (user_id, client_id))
        active = [g for g in grants.of_user(session, user_id) if g.client_id == client_id]
        if consent is None and not active and not sids:
            return None
        scopes = list(consent.scopes) if consent is not None else []
        if consent is not None:
            session.delete(consent)
        for grant in active:
            if grants.revoke(session, grant.id, reason="consent-withdrawn"):
                revoked.append(grant.id)
        client = repository.client(session, client_id)
        if client is not None:
            for sid in sids:
                delivery = logout.prepare_delivery(
                    session, idp, client=client, user_id=user_id, sid=sid
                )
                if delivery is not None:
                    deliveries.append(delivery)
        idp.events.record(
            session,
            type="consent.withdrawn",
            actor=user_id,
            subject=user_id,
            details={
                "client_id": client_id,
                "scopes": scopes,
                "grants_ended": len(revoked),
                "sessions_notified": len(deliveries),
            },
        )
    for grant_id in revoked:
        idp.grant_revoked(grant_id)
    return Withdrawn(grants_ended=len(revoked), deliveries=deliveries)
