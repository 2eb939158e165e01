"""SQL models of the sealing service: seals, grants of seals to clients, sealed documents."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class Seal(Base):
    """An electronic seal of a legal person: its image, its key and its current certificate."""

    __tablename__ = "seals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_uscc: Mapped[str] = mapped_column(String(18), index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(100))
    type: Mapped[str] = mapped_column(String(32))
    image: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)  # read when drawn
    image_source: Mapped[str] = mapped_column(String(16))  # generated | uploaded
    key_id: Mapped[str] = mapped_column(String(64))
    certificate_serial: Mapped[str] = mapped_column(String(48))
    status: Mapped[str] = mapped_column(String(16))  # active | suspended | revoked
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SealGrant(Base):
    """Permission for one client to apply one seal, approved by an organisation administrator."""

    __tablename__ = "seal_grants"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seal_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    document_types: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    not_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    max_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    # Who asked for the grant and who (an administrator of the seal's organisation)
    # approved it; a requested grant stays pending, and seals nothing, until approved.
    requested_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    approved_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # pending | active | rejected | revoked
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SealApplication(Base):
    """An organisation's application for a new seal (申请制章), decided by a security
    administrator other than the applicant; approval makes the seal."""

    __tablename__ = "seal_applications"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    organisation_uscc: Mapped[str] = mapped_column(String(18), index=True)
    organisation_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(100), nullable=True)
    type: Mapped[str] = mapped_column(String(32))
    # An uploaded image (PNG), or NULL for one generated when the seal is made.
    image: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending|approved|rejected
    applicant: Mapped[str] = mapped_column(String(160))
    decided_by: Mapped[str | None] = mapped_column(String(160), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    seal_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SealedDocument(Base):
    """One sealing: which seal, for which client, and the digest the signature covers."""

    __tablename__ = "sealed_documents"
    # One sealing per idempotency key and client, whatever happens to the store's record.
    __table_args__ = (UniqueConstraint("client_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    seal_id: Mapped[str] = mapped_column(String(32), index=True)
    client_id: Mapped[str] = mapped_column(String(64))
    grant_id: Mapped[str] = mapped_column(String(32))
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SHA-256 of the signed byte ranges: what a verifier recomputes from the PDF.
    signed_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The submitted PDF is the first ``original_size`` bytes of the sealed one (the seal is
    # an incremental update), and those bytes are inside the signed range.
    original_size: Mapped[int] = mapped_column(Integer)
    document_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    level: Mapped[str] = mapped_column(String(8))
    certificate_serial: Mapped[str] = mapped_column(String(48))
    audit_index: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
