"""SQL models of ``keys``: KEK parameters, managed keys, CAs, certificates, data keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class KeyEncryptionParams(Base):
    """The installation's KEK salt and check value (one row)."""

    __tablename__ = "key_encryption_params"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary)
    # scrypt cost, stored so it can be raised for new installations without breaking old ones
    scrypt_n: Mapped[int] = mapped_column(Integer)
    scrypt_r: Mapped[int] = mapped_column(Integer)
    scrypt_p: Mapped[int] = mapped_column(Integer)
    check_value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ManagedKey(Base):
    """A private key in a key store, by purpose and lifecycle state.

    ``reference`` is what the store needs to find the key (a sealed blob or a token label);
    it is empty while the key is kept offline.
    """

    __tablename__ = "managed_keys"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32), index=True)
    algorithm: Mapped[str] = mapped_column(String(8))
    store: Mapped[str] = mapped_column(String(16))
    reference: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), index=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class CertificateAuthority(Base):
    """A CA of the hierarchy (``root``, ``seal``, ``infra``) and its CRL counter."""

    __tablename__ = "certificate_authorities"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    parent: Mapped[str | None] = mapped_column(String(32), nullable=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("managed_keys.id"))
    certificate_id: Mapped[int] = mapped_column(Integer)
    crl_number: Mapped[int] = mapped_column(Integer, default=0)
    # The last CRL issued; served as-is while the CA key is offline.
    last_crl: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # A certificate of this CA changed status since the last CRL was signed.
    crl_stale: Mapped[bool] = mapped_column(Boolean, default=False)
    last_crl_next_update: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class IssuedCertificate(Base):
    """A certificate issued by one of our CAs (the root's own certificate included)."""

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("issuer", "serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    issuer: Mapped[str] = mapped_column(String(32), index=True)
    serial: Mapped[str] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(512))
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    key_id: Mapped[str] = mapped_column(ForeignKey("managed_keys.id"))
    der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    not_after: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), default="good")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    revocation_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class DataKey(Base):
    """A sealed symmetric key for one purpose."""

    __tablename__ = "data_keys"

    purpose: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
