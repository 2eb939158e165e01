"""What a change to a person's credentials or proofing ends: the grants and sessions built on
the old ones.

Security contract (compare Keycloak's "sign out all sessions" on a credential reset):

- :func:`credentials_changed` — after a password reset, an administrator's reset of the
  person's factors or a password change — revokes every active grant of the person
  (``offline_access`` ones too: refresh tokens then fail with ``invalid_grant``) and ends
  every live SSO session, except, when ``keep_sid`` names one, that session and the grants
  issued in it (the person changing their password on this device stays signed in here).
- :func:`level_lowered` — after an administrator lowers the person's proofing level —
  revokes exactly the grants whose ``acr`` is above the new level, or unknown (their
  tokens assert an identity assurance the account no longer has; a grant at or below it
  still tells the truth, since ``acr`` is the lower of proofing and sign-in strength), and
  leaves the SSO sessions alone (each new code is computed with the current level,
  ``idp.authorization``).

Both run in the caller's transaction: each grant is revoked with ``reason``, each app signed
into an ended session (and, for a lowered level, each app whose revoked grant came from a
live session) gets a back-channel logout token recorded as a pending delivery (each CAS
service that got a ticket in an ended session a single-logout request, recorded alike), and one
``account.signed_out`` audit event says why and how many grants and sessions ended. After
the commit, :func:`complete` ends the sessions in the shared store and announces each
revoked grant to every process (``IdentityProvider.grant_revoked``), so access tokens stop
at once; the caller then delivers the logout tokens (after its response, or
:func:`deliver_now` from synchronous code). A failed transaction ends nothing. Not checked
here: that the caller may do this (the rule book and the self-service routes check that).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from idp import assurance, backchannel, grants, logout, repository
from idp.models import Grant
from idp.runtime import IdentityProvider


@dataclass(frozen=True)
class SignedOut:
    """What a credential change ended: grants revoked, sessions to end (store references),
    logout tokens to deliver."""

    user_id: str
    reason: str
    grants: list[str] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)
    deliveries: list[logout.Delivery] = field(default_factory=list)

    def summary(self) -> dict[str, int]:
        """How many grants and sessions ended (for answers and audit details)."""
        return {"grants_ended": len(self.grants), "sessions_ended": len(self.sessions)}


def credentials_changed(
    session: Session,
    idp: IdentityProvider,
    *,
    user_id: str,
    reason: str,
    actor: str,
    keep_sid: str | None = None,
) -> SignedOut:
    """Revoke the person's grants and prepare the end of their sessions (but ``keep_sid``'s),
    in the caller's transaction; call :func:`complete` after the commit."""
    revoked = _revoke(
        session,
        [g for g in grants.of_user(session, user_id) if keep_sid is None or g.sid != keep_sid],
        reason=reason,
    )
    ending: list[str] = []
    deliveries: list[logout.Delivery] = []
    for reference, sso in idp.sessions.of_user(user_id):
        if keep_sid is not None and sso.sid == keep_sid:
            continue
        ending.append(reference)
        deliveries += _deliveries(session, idp, user_id=user_id, sid=sso.sid, clients=sso.clients)
        deliveries += logout.cas_deliveries(
            session, user_id=user_id, sid=sso.sid, tickets=sso.cas_tickets
        )
    done = SignedOut(
        user_id=user_id, reason=reason, grants=revoked, sessions=ending, deliveries=deliveries
    )
    _record(session, idp, done, actor=actor, kept_session=keep_sid is not None)
    return done


def level_lowered(
    session: Session, idp: IdentityProvider, *, user_id: str, level: int, reason: str, actor: str
) -> SignedOut:
    """Revoke the person's grants whose ``acr`` is above ``level`` and sign their apps out of
    the sessions those grants came from, in the caller's transaction; call :func:`complete`
    after the commit."""
    above = [g for g in grants.of_user(session, user_id) if _level(g) > level]
    revoked = _revoke(session, above, reason=reason)
    deliveries: list[logout.Delivery] = []
    notified: set[tuple[str, str]] = set()
    for grant in above:
        pair = (grant.client_id, grant.sid or "")
        if grant.id in revoked and grant.sid and pair not in notified:
            notified.add(pair)
            if idp.sessions.alive(grant.sid):
                deliveries += _deliveries(
                    session, idp, user_id=user_id, sid=grant.sid, clients=[grant.client_id]
                )
    done = SignedOut(user_id=user_id, reason=reason, grants=revoked, deliveries=deliveries)
    _record(session, idp, done, actor=actor, above_level=level)
    return done


def complete(idp: IdentityProvider, done: SignedOut) -> None:
    """After the commit: end the sessions in the shared store and announce the revoked grants
    to every process."""
    for reference in done.sessions:
        idp.sessions.end_by_reference(done.user_id, reference)
    for grant_id in done.grants:
        idp.grant_revoked(grant_id)


def deliver_now(idp: IdentityProvider, done: SignedOut) -> None:
    """Post the logout tokens once, now, from synchronous code (a worker thread or the CLI;
    never from inside an event loop); a failed delivery stays pending for the periodic sweep
    (``idp.backchannel.retry_stale``) of any app process."""
    if done.deliveries:
        asyncio.run(backchannel.deliver(idp, done.deliveries, delays=(0.0,), final=False))


def _level(grant: Grant) -> int:
    """The level the grant's tokens assert; one we cannot tell counts as above any level."""
    found = assurance.level_of(str(grant.context.get("acr", "")))
    return found if found is not None else assurance.UNREACHABLE


def _revoke(session: Session, found: list[Grant], *, reason: str) -> list[str]:
    return [g.id for g in found if grants.revoke(session, g.id, reason=reason)]


def _deliveries(
    session: Session, idp: IdentityProvider, *, user_id: str, sid: str, clients: list[str]
) -> list[logout.Delivery]:
    prepared = []
    for client_id in clients:
        client = repository.client(session, client_id)
        if client is None:
            continue
        delivery = logout.prepare_delivery(session, idp, client=client, user_id=user_id, sid=sid)
        if delivery is not None:
            prepared.append(delivery)
    return prepared


def _record(
    session: Session,
    idp: IdentityProvider,
    done: SignedOut,
    *,
    actor: str,
    kept_session: bool = False,
    above_level: int | None = None,
) -> None:
    details: dict[str, object] = {
        "reason": done.reason,
        **done.summary(),
        "apps_notified": len(done.deliveries),
    }
    if kept_session:
        details["kept_current_session"] = True
    if above_level is not None:
        details["above_level"] = above_level
    idp.events.record(
        session, type="account.signed_out", actor=actor, subject=done.user_id, details=details
    )
