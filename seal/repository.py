"""Every SQL statement of the sealing service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from keys.hierarchy import SEAL_CA
from keys.models import IssuedCertificate
from seal.models import Seal, SealApplication, SealedDocument, SealGrant


def seal(session: Session, seal_id: str, *, for_update: bool = False) -> Seal | None:
    """A seal by id (optionally locked for update)."""
    query = select(Seal).where(Seal.id == seal_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def seals(session: Session, *, organisation_uscc: str | None = None) -> Sequence[Seal]:
    """Seals, oldest first, optionally of one organisation."""
    query = select(Seal).order_by(Seal.created_at, Seal.id)
    if organisation_uscc:
        query = query.where(Seal.organisation_uscc == organisation_uscc)
    return session.scalars(query).all()


def grant(session: Session, grant_id: str, *, for_update: bool = False) -> SealGrant | None:
    """A grant by id (optionally locked for update)."""
    return session.get(SealGrant, grant_id, with_for_update=for_update)


def seals_expiring(
    session: Session, *, now: datetime, before: datetime, organisation_uscc: str | None = None
) -> Sequence[Seal]:
    """Seals not revoked whose current certificate ends in ``[now, before)``, soonest first."""
    query = (
        select(Seal)
        .where(Seal.status != "revoked", Seal.valid_until >= now, Seal.valid_until < before)
        .order_by(Seal.valid_until, Seal.id)
    )
    if organisation_uscc:
        query = query.where(Seal.organisation_uscc == organisation_uscc)
    return session.scalars(query).all()


def seal_counts(session: Session, *, organisation_uscc: str | None = None) -> dict[str, int]:
    """How many seals there are in each status (optionally of one organisation)."""
    query = select(Seal.status, func.count()).group_by(Seal.status)
    if organisation_uscc:
        query = query.where(Seal.organisation_uscc == organisation_uscc)
    return {str(status): int(count) for status, count in session.execute(query)}


def pending_application_count(session: Session, *, organisation_uscc: str | None = None) -> int:
    """How many seal applications wait for a decision."""
    query = select(func.count()).where(SealApplication.status == "pending")
    if organisation_uscc:
        query = query.where(SealApplication.organisation_uscc == organisation_uscc)
    return int(session.scalar(query) or 0)


def pending_grant_count(session: Session, *, organisation_uscc: str | None = None) -> int:
    """How many seal grants wait for approval (of one organisation's seals, if given)."""
    query = select(func.count()).select_from(SealGrant).where(SealGrant.status == "pending")
    if organisation_uscc:
        query = query.join(Seal, Seal.id == SealGrant.seal_id).where(
            Seal.organisation_uscc == organisation_uscc
        )
    return int(session.scalar(query) or 0)


def grants(
    session: Session, *, seal_id: str | None = None, client_id: str | None = None
) -> Sequence[SealGrant]:
    """Grants, oldest first, filtered by seal and/or client."""
    query = select(SealGrant).order_by(SealGrant.created_at, SealGrant.id)
    if seal_id:
        query = query.where(SealGrant.seal_id == seal_id)
    if client_id:
        query = query.where(SealGrant.client_id == client_id)
    return session.scalars(query).all()


def active_grants(session: Session, *, seal_id: str, client_id: str) -> Sequence[SealGrant]:
    """The active grants of ``seal_id`` to ``client_id``."""
    return session.scalars(
        select(SealGrant)
        .where(
            SealGrant.seal_id == seal_id,
            SealGrant.client_id == client_id,
            SealGrant.status == "active",
        )
        .order_by(SealGrant.created_at)
    ).all()


# Built once, run on the session's connection: through the ORM, this UPDATE paid for its
# bulk-update bookkeeping (an autoflush, evaluating the criteria against loaded grants) on
# every sealing, twice what the statement costs.
_USE_GRANT = (
    update(SealGrant)
    .where(
        SealGrant.id == bindparam("grant_id"),
        SealGrant.status == "active",
        or_(SealGrant.not_after.is_(None), SealGrant.not_after > bindparam("now")),
        or_(SealGrant.max_uses.is_(None), SealGrant.uses < SealGrant.max_uses),
    )
    .values(uses=SealGrant.uses + 1)
)


def use_grant(session: Session, grant_id: str, *, now: datetime) -> bool:
    """Count one use of an active, unexpired grant that has uses left, atomically (one
    conditional UPDATE, so concurrent sealings can never exceed ``max_uses``)."""
    session.flush()  # a change to the grant made through the ORM counts (autoflush's job)
    result = session.connection().execute(_USE_GRANT, {"grant_id": grant_id, "now": now})
    used = bool(result.rowcount)
    loaded = session.identity_map.get(session.identity_key(SealGrant, grant_id))
    if used and loaded is not None:
        session.expire(loaded, ["uses"])  # a grant loaded before reads its new count
    return used


# The state a sealing re-checks in its transaction, in one statement on the session's
# connection: the seal row locked as ``seal(for_update=True)`` locks it, with its status and
# window and the status of the certificate signed with. Through the ORM the same re-check
# loaded two whole rows (the certificate with its DER) and cost a third of the transaction.
_SEAL_STATE = (
    select(Seal.status, Seal.valid_from, Seal.valid_until, IssuedCertificate.status)
    .join(
        IssuedCertificate,
        and_(
            IssuedCertificate.issuer == SEAL_CA,
            IssuedCertificate.serial == bindparam("serial"),
            IssuedCertificate.owner == Seal.id,
        ),
    )
    .where(Seal.id == bindparam("seal_id"))
    .with_for_update(of=Seal)
)


def seal_state(
    session: Session, seal_id: str, *, serial: str
) -> Row[str, datetime, datetime, str] | None:
    """(seal status, valid_from, valid_until, certificate status) of ``seal_id`` and its
    certificate ``serial``, the seal row locked for update; None if either is missing."""
    session.flush()  # a change made through the ORM in this transaction counts
    return session.connection().execute(_SEAL_STATE, {"seal_id": seal_id, "serial": serial}).first()


_INSERT_SEALED = insert(SealedDocument)


def insert_sealed_document(session: Session, row: dict[str, Any]) -> None:
    """Record a sealing (``sealed_documents`` columns) with one Core INSERT on the session's
    connection: nothing reads the row back in the sealing transaction, so the ORM's unit of
    work (an object to track, a flush) is spared. A duplicate idempotency key raises the
    same ``IntegrityError`` as a flush would, at once."""
    session.connection().execute(_INSERT_SEALED, row)


def sealed_document(session: Session, document_id: str) -> SealedDocument | None:
    """A sealing by document id."""
    return session.get(SealedDocument, document_id)


def sealed_by_digest(session: Session, signed_digest: str) -> SealedDocument | None:
    """The sealing whose signature covers ``signed_digest``."""
    return session.scalars(
        select(SealedDocument).where(SealedDocument.signed_digest == signed_digest)
    ).first()
