"""The seal registry: seals of legal persons, their images, keys, certificates and status.

Security contract: a seal's key and certificate come from ``keys`` (seal CA); suspending a
seal puts its certificate on hold and revoking it revokes the certificate, so relying
parties see the change through CRL/OCSP, not only through this service. Every change is
an audit-log event in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509
from sqlalchemy.orm import Session

from core.clock import as_utc
from keys import repository as key_repository
from keys.certificate_status import set_status
from keys.hierarchy import SEAL_CA, Hierarchy, HierarchyError
from keys.models import IssuedCertificate
from keys.seal_certificates import SEAL_DAYS, issue_seal_certificate
from seal import repository, stamp_image
from seal.errors import InvalidSealRequest, UnknownSeal
from seal.fonts import FontError, find_cjk_font
from seal.models import Seal

# Seal kinds of a legal person, with the words carved on the seal (GA 241 practice).
SEAL_TYPES = {
    "official": "公章",
    "contract": "合同专用章",
    "finance": "财务专用章",
    "invoice": "发票专用章",
    "business": "业务专用章",
    "approval": "行政审批专用章",
    "certificate": "证照专用章",
}
SEAL_TYPE_NAMES_EN = {
    "official": "Official seal",
    "contract": "Contract seal",
    "finance": "Finance seal",
    "invoice": "Invoice seal",
    "business": "Business seal",
    "approval": "Administrative approval seal",
    "certificate": "Licence seal",
}


class RegistryError(ValueError):
    """A registry operation was refused; the message says why."""


def create_seal(
    session: Session,
    *,
    hierarchy: Hierarchy,
    organisation_name: str,
    organisation_uscc: str,
    seal_type: str,
    actor: str,
    name: str | None = None,
    image_png: bytes | None = None,
    font: str = "",
    days: int = SEAL_DAYS,
    seal_id: str | None = None,
) -> Seal:
    """A new active seal with a new key and certificate; the image is the uploaded PNG
    (checked) or the standard round red seal drawn for the organisation."""
    if seal_type not in SEAL_TYPES:
        raise RegistryError(f"unknown seal type {seal_type!r}; one of {', '.join(SEAL_TYPES)}")
    label = SEAL_TYPES[seal_type]
    name = (name or f"{organisation_name}{label}").strip()
    if not name or len(name) > 100:
        raise RegistryError("the seal name must be 1 to 100 characters")
    if image_png is not None:
        try:
            image, source = stamp_image.check_uploaded_png(image_png), "uploaded"
        except stamp_image.ImageError as exc:
            raise RegistryError(str(exc)) from None
    else:
        try:
            font_path = find_cjk_font(font or None)
            image = stamp_image.round_seal_png(
                organisation=organisation_name, seal_type=label, font_path=font_path
            )
        except FontError as exc:
            raise RegistryError(f"cannot draw the seal: {exc}") from None
        source = "generated"
    seal_id = seal_id or "seal_" + uuid.uuid4().hex[:16]
    try:
        certificate = issue_seal_certificate(
            session,
            hierarchy=hierarchy,
            owner=seal_id,
            organization=organisation_name,
            uscc=organisation_uscc,
            seal_name=name,
            actor=actor,
            days=days,
        )
    except HierarchyError as exc:
        raise RegistryError(str(exc)) from None
    now = datetime.now(UTC)
    row = Seal(
        id=seal_id,
        organisation_uscc=organisation_uscc,
        organisation_name=organisation_name,
        name=name,
        type=seal_type,
        image=image,
        image_source=source,
        key_id=certificate.key_id,
        certificate_serial=certificate.serial,
        status="active",
        valid_from=as_utc(certificate.not_before),
        valid_until=as_utc(certificate.not_after),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    hierarchy.events.record(
        session,
        type="seal.created",
        actor=actor,
        subject=seal_id,
        details={
            "organisation": organisation_uscc,
            "name": name,
            "type": seal_type,
            "image": source,
            "certificate_serial": certificate.serial,
            "key_id": certificate.key_id,
        },
    )
    return row


def get(session: Session, seal_id: str, *, for_update: bool = False) -> Seal:
    """The seal ``seal_id`` or :class:`UnknownSeal`."""
    row = repository.seal(session, seal_id, for_update=for_update)
    if row is None:
        raise UnknownSeal(f"there is no seal {seal_id!r}", seal_id=seal_id)
    return row


def certificate(session: Session, seal: Seal, *, serial: str | None = None) -> IssuedCertificate:
    """The seal's current certificate, or its certificate ``serial``."""
    row = key_repository.certificate_by_serial(
        session, issuer=SEAL_CA, serial=serial or seal.certificate_serial
    )
    if row is None or row.owner != seal.id:
        raise InvalidSealRequest(f"seal {seal.id} has no such certificate on record")
    return row


def _change(
    session: Session,
    *,
    hierarchy: Hierarchy,
    seal_id: str,
    status: str,
    allowed_from: tuple[str, ...],
    actor: str,
    reason: str = "unspecified",
) -> Seal:
    row = get(session, seal_id, for_update=True)
    if row.status not in allowed_from:
        raise RegistryError(f"seal {seal_id} is {row.status}; it cannot become {status}")
    target = {"active": "good", "suspended": "suspended", "revoked": "revoked"}[status]
    # Every unexpired certificate of the seal changes, not only the current one: a renewal
    # keeps the key, so an older certificate would otherwise keep vouching for it.
    now = datetime.now(UTC)
    changed = []
    for issued in key_repository.certificates(session, owner=seal_id, kind="seal"):
        if as_utc(issued.not_after) <= now or issued.status == "revoked":
            continue
        if target == "good" and issued.status != "suspended":
            continue
        if target == "suspended" and issued.status != "good":
            continue
        try:
            set_status(
                session,
                hierarchy=hierarchy,
                issuer=SEAL_CA,
                serial=issued.serial,
                status=target,
                actor=actor,
                reason=reason,
            )
        except HierarchyError as exc:
            raise RegistryError(str(exc)) from None
        changed.append(issued.serial)
    row.status = status
    row.updated_at = datetime.now(UTC)
    hierarchy.events.record(
        session,
        type={"active": "seal.resumed", "suspended": "seal.suspended", "revoked": "seal.revoked"}[
            status
        ],
        actor=actor,
        subject=seal_id,
        details={"certificate_serials": changed, "reason": reason},
    )
    return row


def suspend(session: Session, *, hierarchy: Hierarchy, seal_id: str, actor: str) -> Seal:
    """Stop a seal for now (its certificate goes on hold)."""
    return _change(
        session,
        hierarchy=hierarchy,
        seal_id=seal_id,
        status="suspended",
        allowed_from=("active",),
        actor=actor,
    )


def resume(session: Session, *, hierarchy: Hierarchy, seal_id: str, actor: str) -> Seal:
    """Lift a suspension (the certificate comes off hold)."""
    return _change(
        session,
        hierarchy=hierarchy,
        seal_id=seal_id,
        status="active",
        allowed_from=("suspended",),
        actor=actor,
    )


def revoke(
    session: Session,
    *,
    hierarchy: Hierarchy,
    seal_id: str,
    actor: str,
    reason: str = "cessation_of_operation",
) -> Seal:
    """End a seal for good (its certificate is revoked with ``reason``)."""
    return _change(
        session,
        hierarchy=hierarchy,
        seal_id=seal_id,
        status="revoked",
        allowed_from=("active", "suspended"),
        actor=actor,
        reason=reason,
    )


def renew(
    session: Session,
    *,
    hierarchy: Hierarchy,
    seal_id: str,
    actor: str,
    new_key: bool = False,
    days: int = SEAL_DAYS,
) -> Seal:
    """A new certificate for an active seal (same key unless ``new_key``); documents sealed
    under the old certificate stay valid until it expires."""
    row = get(session, seal_id, for_update=True)
    if row.status != "active":
        raise RegistryError(f"seal {seal_id} is {row.status}; only an active seal is renewed")
    current = certificate(session, row)
    subject = asn1_x509.Certificate.load(current.der).subject.native
    try:
        issued = issue_seal_certificate(
            session,
            hierarchy=hierarchy,
            owner=seal_id,
            organization=row.organisation_name,
            uscc=row.organisation_uscc,
            seal_name=subject.get("common_name", row.name),
            actor=actor,
            reuse_key_id=None if new_key else row.key_id,
            days=days,
        )
    except HierarchyError as exc:
        raise RegistryError(str(exc)) from None
    row.key_id, row.certificate_serial = issued.key_id, issued.serial
    row.valid_from, row.valid_until = as_utc(issued.not_before), as_utc(issued.not_after)
    row.updated_at = datetime.now(UTC)
    hierarchy.events.record(
        session,
        type="seal.renewed",
        actor=actor,
        subject=seal_id,
        details={
            "certificate_serial": issued.serial,
            "key_id": issued.key_id,
            "new_key": new_key,
            "previous_serial": current.serial,
        },
    )
    return row


def in_window(seal: Seal, now: datetime) -> bool:
    """Whether ``now`` is inside the seal's validity window."""
    return within(seal.valid_from, seal.valid_until, now)


def within(valid_from: datetime, valid_until: datetime, now: datetime) -> bool:
    """Whether ``now`` is inside the window [``valid_from``, ``valid_until``) (the bounds as
    stored: naive ones are UTC)."""
    return as_utc(valid_from) <= now < as_utc(valid_until)
