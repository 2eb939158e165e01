"""Grants: which client may apply which seal, for which document types, until when and how
many times, approved by an administrator of the organisation that owns the seal.

Security contract: ``authorise`` is read-only and only picks the grant; the use is counted
by ``repository.use_grant`` in the sealing transaction, so a failed sealing uses nothing
and concurrent sealings can never exceed ``max_uses``. Revocation is immediate.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.clock import as_utc
from core.events import EventRecorder
from seal import repository
from seal.errors import DocumentTypeNotGranted, GrantExhausted, GrantExpired, NoGrant
from seal.models import SealGrant
from seal.registry import RegistryError


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
    """Grant ``client_id`` the use of ``seal_id`` (the caller has checked that the client
    exists and that ``approved_by`` administers the seal's organisation)."""
    seal = repository.seal(session, seal_id)
    if seal is None:
        raise RegistryError(f"there is no seal {seal_id!r}")
    if seal.status == "revoked":
        raise RegistryError(f"seal {seal_id} is revoked")
    now = datetime.now(UTC)
    if not_after is not None and as_utc(not_after) <= now:
        raise RegistryError("the grant would already be expired (--until is in the past)")
    if max_uses is not None and max_uses < 1:
        raise RegistryError("--max-uses must be at least 1")
    types = sorted({t.strip() for t in document_types or [] if t.strip()}) or None
    row = SealGrant(
        id="grant_" + uuid.uuid4().hex[:16],
        seal_id=seal_id,
        client_id=client_id,
        document_types=types,
        not_after=as_utc(not_after) if not_after else None,
        max_uses=max_uses,
        uses=0,
        approved_by=approved_by,
        status="active",
        created_at=now,
    )
    session.add(row)
    events.record(
        session,
        type="seal.grant.created",
        actor=actor,
        subject=row.id,
        details={
            "seal_id": seal_id,
            "client_id": client_id,
            "approved_by": approved_by,
            "until": row.not_after.strftime("%Y-%m-%dT%H:%M:%SZ") if row.not_after else None,
            "max_uses": max_uses,
            "document_types": types,
        },
    )
    return row


def revoke(session: Session, *, events: EventRecorder, grant_id: str, actor: str) -> SealGrant:
    """End a grant now."""
    row = repository.grant(session, grant_id)
    if row is None:
        raise RegistryError(f"there is no grant {grant_id!r}")
    if row.status == "revoked":
        raise RegistryError(f"grant {grant_id} is already revoked")
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
