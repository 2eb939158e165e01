"""Every SQL statement of ``keys``."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from keys.models import CertificateAuthority, IssuedCertificate, KeyEncryptionParams, ManagedKey


def kek_params(session: Session) -> KeyEncryptionParams | None:
    """The installation's KEK parameters, if set up."""
    return session.get(KeyEncryptionParams, 1)


def key(session: Session, key_id: str) -> ManagedKey | None:
    """One managed key by id."""
    return session.get(ManagedKey, key_id)


def keys(session: Session, *, purpose: str | None = None) -> Sequence[ManagedKey]:
    """Managed keys, optionally of one purpose, oldest first."""
    query = select(ManagedKey).order_by(ManagedKey.created_at, ManagedKey.id)
    if purpose:
        query = query.where(ManagedKey.purpose == purpose)
    return session.scalars(query).all()


def keys_in_state(session: Session, *, purpose: str, states: tuple[str, ...]) -> list[ManagedKey]:
    """Keys of ``purpose`` in any of ``states``, oldest first."""
    query = (
        select(ManagedKey)
        .where(ManagedKey.purpose == purpose, ManagedKey.state.in_(states))
        .order_by(ManagedKey.created_at, ManagedKey.id)
    )
    return list(session.scalars(query).all())


def ca(session: Session, name: str, *, for_update: bool = False) -> CertificateAuthority | None:
    """A CA by name."""
    query = select(CertificateAuthority).where(CertificateAuthority.name == name)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def cas(session: Session) -> Sequence[CertificateAuthority]:
    """Every CA."""
    return session.scalars(select(CertificateAuthority).order_by(CertificateAuthority.name)).all()


def certificate(session: Session, certificate_id: int) -> IssuedCertificate | None:
    """A certificate by row id."""
    return session.get(IssuedCertificate, certificate_id)


def certificate_by_serial(
    session: Session, *, issuer: str, serial: str, for_update: bool = False
) -> IssuedCertificate | None:
    """A certificate by issuer CA name and hex serial (optionally locked for update)."""
    query = select(IssuedCertificate).where(
        IssuedCertificate.issuer == issuer, IssuedCertificate.serial == serial
    )
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).first()


def certificates(
    session: Session,
    *,
    issuer: str | None = None,
    owner: str | None = None,
    kind: str | None = None,
) -> Sequence[IssuedCertificate]:
    """Certificates filtered by issuer, owner and kind, oldest first."""
    query = select(IssuedCertificate).order_by(IssuedCertificate.id)
    if issuer:
        query = query.where(IssuedCertificate.issuer == issuer)
    if owner:
        query = query.where(IssuedCertificate.owner == owner)
    if kind:
        query = query.where(IssuedCertificate.kind == kind)
    return session.scalars(query).all()


def unexpired_revocations(
    session: Session, *, issuer: str, now: datetime
) -> Sequence[IssuedCertificate]:
    """Revoked or suspended certificates of ``issuer`` not yet expired (they belong on the CRL)."""
    query = (
        select(IssuedCertificate)
        .where(
            IssuedCertificate.issuer == issuer,
            IssuedCertificate.status.in_(("revoked", "suspended")),
            IssuedCertificate.not_after > now,
        )
        .order_by(IssuedCertificate.id)
    )
    return session.scalars(query).all()


def next_crl_number(session: Session, name: str) -> int:
    """Atomically increment and return the CA's CRL number."""
    session.execute(
        update(CertificateAuthority)
        .where(CertificateAuthority.name == name)
        .values(crl_number=CertificateAuthority.crl_number + 1)
    )
    number = session.scalar(
        select(CertificateAuthority.crl_number).where(CertificateAuthority.name == name)
    )
    assert number is not None
    return number


def lock_key_purpose(session: Session, purpose: str) -> None:
    """Serialise changes to the keys of ``purpose`` until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: a no-op write, which takes the
    database write lock up front (instead of failing later when upgrading a read lock).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": zlib.crc32(purpose.encode())}
        )
    else:
        session.execute(update(ManagedKey).where(ManagedKey.id.is_(None)).values(state="x"))
