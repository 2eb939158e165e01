"""What each person allowed each client (OIDC Core §3.1.2.4), kept in SQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from idp.models import Consent


def scopes(session: Session, *, user_id: str, client_id: str) -> set[str]:
    """The scopes the person allowed the client (empty when never asked)."""
    found = session.get(Consent, (user_id, client_id))
    return set(found.scopes) if found is not None else set()


def grant(session: Session, *, user_id: str, client_id: str, granted: list[str]) -> None:
    """Add ``granted`` to what the person allowed the client."""
    found = session.get(Consent, (user_id, client_id))
    if found is not None:
        found.scopes = sorted(set(found.scopes) | set(granted))
        found.granted_at = datetime.now(UTC)
        return
    try:
        with session.begin_nested():
            session.add(
                Consent(
                    user_id=user_id,
                    client_id=client_id,
                    scopes=sorted(set(granted)),
                    granted_at=datetime.now(UTC),
                )
            )
    except IntegrityError:  # the same person consented in another tab at the same moment
        grant(session, user_id=user_id, client_id=client_id, granted=granted)


def of_user(session: Session, user_id: str) -> Sequence[Consent]:
    """Everything the person allowed, by client."""
    query = select(Consent).where(Consent.user_id == user_id).order_by(Consent.client_id)
    return session.scalars(query).all()
