"""Revoking, suspending and reinstating certificates (RFC 5280 §5.3.1 reasons).

Security contract: revocation is final; the certificate row is locked while its status
changes, so a concurrent reinstatement cannot undo a revocation. A change marks the
issuing CA's CRL stale, so the next fetch is re-signed; while a CA key is offline its
last CRL stands (OCSP answers the new status at once) until the key is back online.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from keys import repository
from keys.hierarchy import Hierarchy, HierarchyError
from keys.models import IssuedCertificate

REVOCATION_REASONS = (
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "privilege_withdrawn",
)
_EVENT = {
    "revoked": "certificate.revoked",
    "suspended": "certificate.suspended",
    "good": "certificate.reinstated",
}


def normalise_serial(serial: str) -> str:
    """A serial as stored: lower-case hex without leading zeros (accepts ``0x``, colons)."""
    cleaned = serial.strip().lower().removeprefix("0x").replace(":", "")
    try:
        return format(int(cleaned, 16), "x")
    except ValueError:
        raise HierarchyError(f"{serial!r} is not a hexadecimal serial number") from None


def set_status(
    session: Session,
    *,
    hierarchy: Hierarchy,
    issuer: str,
    serial: str,
    status: str,
    actor: str,
    reason: str = "unspecified",
) -> IssuedCertificate:
    """Revoke (with a reason), suspend (certificateHold) or reinstate (from suspension)."""
    certificate = repository.certificate_by_serial(
        session, issuer=issuer, serial=normalise_serial(serial), for_update=True
    )
    if certificate is None:
        raise HierarchyError(f"no certificate {serial} issued by {issuer!r}")
    if certificate.status == "revoked":
        raise HierarchyError(f"certificate {serial} is already revoked")
    # Whole seconds: DER GeneralizedTime in CRLs and OCSP allows no fractions (RFC 5280).
    now = datetime.now(UTC).replace(microsecond=0)
    if status == "revoked":
        if reason not in REVOCATION_REASONS:
            raise HierarchyError(
                f"unknown revocation reason {reason!r}; one of {', '.join(REVOCATION_REASONS)}"
            )
        certificate.status, certificate.revocation_reason = "revoked", reason
        certificate.revoked_at = now
    elif status == "suspended":
        certificate.status, certificate.revocation_reason = "suspended", "certificate_hold"
        certificate.revoked_at = now
    elif status == "good":
        if certificate.status != "suspended":
            raise HierarchyError(f"certificate {serial} is not suspended")
        certificate.status, certificate.revocation_reason = "good", None
        certificate.revoked_at = None
    else:
        raise HierarchyError(f"unknown status {status!r}")
    ca = repository.ca(session, issuer)
    if ca is not None:
        ca.crl_stale = True  # re-signed at the next fetch (once the CA key is online)
    hierarchy.events.record(
        session,
        type=_EVENT[status],
        actor=actor,
        subject=f"{issuer}:{certificate.serial}",
        details={
            "reason": certificate.revocation_reason,
            "owner": certificate.owner,
            "kind": certificate.kind,
        },
    )
    return certificate
