"""Grants: which client may apply which seal, for which document types, until when and how
many times — requested (``pending``, sealing nothing), then approved by an administrator of
the organisation that owns the seal (``active``), or rejected; an active grant is revoked.

Security contract: ``authorise`` is read-only and only picks the grant; the use is counted
by ``repository.use_grant`` in the sealing transaction, so a failed sealing uses nothing
and concurrent sealings can never exceed ``max_uses``. Revocation is immediate.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from core.clock import as_utc
from core.events import EventRecorder
from seal import repository
from seal.errors import DocumentTypeNotGranted, GrantExhausted, GrantExpired, NoGrant
from seal.models import SealGrant
from seal.registry import RegistryError

GRANT_MAX_DAYS = 3660


def _terms(
    *, not_after: datetime | None, max_uses: int | None, document_types: list[str] | None
) -> tuple[datetime | None, int | None, list[str] | None]:
    now = datetime.now(UTC)
    if not_after is not None:
        try:
            not_after = as_utc(not_after)
        except OverflowError:  # beyond year 9999 in UTC
            raise RegistryError(f"a grant lasts at most {GRANT_MAX_DAYS} days") from None
    if not_after is not None and not_after <= now:
        raise RegistryError("the grant would already be expired (--until is in the past)")
    # No grant outlives the longest seal certificate (ten years): a far-future date is a
    # typo, and beyond year 9999 the databases cannot even store it.
    if not_after is not None and as_utc(not_after) > now + timedelta(days=GRANT_MAX_DAYS):
        raise RegistryError(f"a grant lasts at most {GRANT_MAX_DAYS} days (--until is too far)")
    if max_uses is not None and max_uses < 1:
        raise RegistryError("--max-uses must be at least 1")
    types = sorted({t.strip() for t in document_types or [] if t.strip()}) or None
    return (as_utc(not_after) if not_after else None), max_uses, types


def _stamp(moment: datetime | None) -> str | None:
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def request(
    session: Session,
    *,
    events: EventRecorder,
    seal_id: str,
    client_id: str,
    actor: str,
    not_after: datetime | None = None,
    max_uses: int | None = None,
    document_types: list[str] | None = None,
) -> SealGrant:
    """Ask that ``client_id`` may use ``seal_id`` on these terms: a *pending* grant, which
    seals nothing until :func:`approve` (the caller has checked the client and who asks)."""
    seal = repository.seal(session, seal_id)
    if seal is None:
        raise RegistryError(f"there is no seal {seal_id!r}")
    if seal.status == "revoked":
        raise RegistryError(f"seal {seal_id} is revoked")
    until, uses, types = _terms(
        not_after=not_after, max_uses=max_uses, document_types=document_types
    )
    row = SealGrant(
        id="grant_" + uuid.uuid4().hex[:16],
        seal_id=seal_id,
        client_id=client_id,
        document_types=types,
        not_after=until,
        max_uses=uses,
        uses=0,
        requested_by=actor,
        approved_by=None,
        status="pending",
        created_at=datetime.now(UTC),
    )
    session.add(row)
    events.record(
        session,
        type="seal.grant.requested",
        actor=actor,
        subject=row.id,
        details={
            "seal_id": seal_id,
            "client_id": client_id,
            "until": _stamp(until),
            "max_uses": uses,
            "document_types": types,
        },
    )
    return row


def _pending(session: Session, grant_id: str) -> SealGrant:
    row = repository.grant(session, grant_id, for_update=True)
    if row is None:
        raise RegistryError(f"there is no grant {grant_id!r}")
    if row.status != "pending":
        raise RegistryError(f"grant {grant_id} is {row.status}, not waiting for a decision")
    return row


def approve(
    session: Session,
    *,
    events: EventRecorder,
    grant_id: str,
    actor: str,
    not_after: datetime | None = None,
    max_uses: int | None = None,
    document_types: list[str] | None = None,
) -> SealGrant:
    """Make a pending grant active (the caller has checked that ``actor`` administers the
    seal's organisation). The approver may narrow the requested terms — an earlier end,
    fewer uses, fewer document types — never widen them."""
    row = _pending(session, grant_id)
    seal = repository.seal(session, row.seal_id)
    if seal is None or seal.status == "revoked":
        raise RegistryError(f"seal {row.seal_id} is revoked or gone")
    until, uses, types = _terms(
        not_after=not_after, max_uses=max_uses, document_types=document_types
    )
    asked_until = as_utc(row.not_after) if row.not_after else None
    if asked_until is not None and asked_until <= datetime.now(UTC):
        raise RegistryError(f"the requested end {_stamp(asked_until)} has passed; ask again")
    if until is not None and asked_until is not None and until > asked_until:
        raise RegistryError(f"the grant was requested until {_stamp(asked_until)}; not later")
    if uses is not None and row.max_uses is not None and uses > row.max_uses:
        raise RegistryError(f"the grant was requested for {row.max_uses} uses; not more")
    if types is not None and row.document_types and not set(types) <= set(row.document_types):
        raise RegistryError(
            f"the grant was requested for document types {', '.join(row.document_types)}; "
            "approve those or fewer"
        )
    row.not_after = until or asked_until
    row.max_uses = uses or row.max_uses
    row.document_types = types or row.document_types
    row.status, row.approved_by = "active", actor
    events.record(
        session,
        type="seal.grant.approved",
        actor=actor,
        subject=row.id,
        details={
            "seal_id": row.seal_id,
            "client_id": row.client_id,
            "requested_by": row.requested_by,
            "until": _stamp(row.not_after),
            "max_uses": row.max_uses,
            "document_types": row.document_types,
        },
    )
    return row


def reject(
    session: Session, *, events: EventRecorder, grant_id: str, actor: str, reason: str
) -> SealGrant:
    """Turn a pending grant down (it never seals)."""
    row = _pending(session, grant_id)
    row.status, row.approved_by = "rejected", None
    events.record(
        session,
        type="seal.grant.rejected",
        actor=actor,
        subject=row.id,
        details={"seal_id": row.seal_id, "client_id": row.client_id, "reason": reason},
    )
    return row


def create(
    session: Session,
    *,
    events: EventRecorder,
    seal_id: str,
    client_id: str,
    approved_by: str,
    actor: str,
    not_after: datetime | None = None,
    max_uses: int | None = None,
    document_types: list[str] | None = None,
) -> SealGrant:
    """A grant requested by ``actor`` and approved by ``approved_by`` at once: for seeding
    (demo data, tests), where the caller stands for both (the rule book is ``admin.grants``)."""
    row = request(
        session,
        events=events,
        seal_id=seal_id,
        client_id=client_id,
        actor=actor,
        not_after=not_after,
        max_uses=max_uses,
        document_types=document_types,
    )
    session.flush()
    return approve(session, events=events, grant_id=row.id, actor=approved_by)


def revoke(session: Session, *, events: EventRecorder, grant_id: str, actor: str) -> SealGrant:
    """End an active grant now (the one revoke path: the CLI, the API and the console all
    come here; a pending grant is rejected instead)."""
    row = repository.grant(session, grant_id, for_update=True)
    if row is None:
        raise RegistryError(f"there is no grant {grant_id!r}")
    if row.status != "active":
        raise RegistryError(f"grant {grant_id} is {row.status}; only an active grant is revoked")
    row.status, row.revoked_at = "revoked", datetime.now(UTC)
    events.record(
        session,
        type="seal.grant.revoked",
        actor=actor,
        subject=grant_id,
        details={"seal_id": row.seal_id, "client_id": row.client_id},
    )
    return row


def authorise(
    session: Session,
    *,
    seal_id: str,
    client_id: str,
    document_type: str | None,
    now: datetime,
) -> SealGrant:
    """The grant under which ``client_id`` may seal now with ``seal_id``, or the most
    precise refusal: no grant, expired, used up, or not for this document type."""
    candidates = repository.active_grants(session, seal_id=seal_id, client_id=client_id)
    if not candidates:
        raise NoGrant(f"client {client_id!r} has no grant for seal {seal_id!r}", seal_id=seal_id)
    refusal: Exception | None = None
    for grant in candidates:
        if grant.not_after is not None and as_utc(grant.not_after) <= now:
            refusal = refusal or GrantExpired(
                f"the grant {grant.id} ended at {as_utc(grant.not_after):%Y-%m-%dT%H:%M:%SZ}"
            )
            continue
        if grant.max_uses is not None and grant.uses >= grant.max_uses:
            refusal = GrantExhausted(f"the grant {grant.id} has used all {grant.max_uses} uses")
            continue
        if grant.document_types and document_type not in grant.document_types:
            refusal = DocumentTypeNotGranted(
                f"the grant {grant.id} covers document types "
                f"{', '.join(grant.document_types)}, not {document_type or '(none given)'}"
            )
            continue
        return grant
    assert refusal is not None
    raise refusal
