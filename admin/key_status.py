"""Key status and the security administrator's key acts: token-key rotation and certificate
revocation, suspension and reinstatement.

Rules: the three platform administrators may look at the key status (no key material is
ever shown: ids, algorithms, states, dates); only the security administrator (安全管理员)
rotates the token-signing keys and changes a certificate's status. Each act goes through
``keys`` (``token_keys.rotate``, ``certificate_status.set_status``) with the acting person
as the audit event's actor, in the act's transaction. The key ceremonies on the server
(``keys init``, backup, restore, root offline/online) stay role-free operator commands.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from sqlalchemy.orm import Session

from admin import policy
from admin.actors import AUDIT, SECURITY, SYSTEM, Actor
from admin.errors import Conflict, Invalid, NotFound
from admin.service import Administration
from core.clock import as_utc
from keys import repository as key_repository
from keys import token_keys
from keys.algorithms import KeyAlgorithm
from keys.certificate_status import REVOCATION_REASONS, normalise_serial, set_status
from keys.hierarchy import CA_NAMES, HierarchyError
from keys.models import CertificateAuthority, IssuedCertificate, ManagedKey
from seal import repository as seal_repository

EXPIRY_WINDOW = timedelta(days=30)
TOKEN_PURPOSES = (token_keys.PURPOSE, token_keys.RS256_PURPOSE)
CertificateStatus = Literal["revoked", "suspended", "good"]


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment is not None else None


def _days_left(end: datetime, now: datetime) -> int:
    return (as_utc(end) - now).days


def _token_key(row: ManagedKey) -> dict[str, Any]:
    return {
        "kid": row.id,
        "purpose": row.purpose,
        "algorithm": row.algorithm,
        "store": row.store,
        "state": row.state,
        "created_at": _iso(row.created_at),
        "activated_at": _iso(row.activated_at),
        "retired_at": _iso(row.retired_at),
    }


def _crl_this_update(der: bytes) -> str | None:
    try:
        moment = asn1_crl.CertificateList.load(der)["tbs_cert_list"]["this_update"].native
    except (ValueError, TypeError, KeyError):  # a damaged stored CRL is reported, not fatal
        return None
    return _iso(moment) if isinstance(moment, datetime) else None


def _ca(session: Session, ca: CertificateAuthority, now: datetime) -> dict[str, Any]:
    certificate = key_repository.certificate(session, ca.certificate_id)
    key = key_repository.key(session, ca.key_id)
    next_update = as_utc(ca.last_crl_next_update) if ca.last_crl_next_update else None
    return {
        "name": ca.name,
        "parent": ca.parent,
        "subject": _subject(certificate) if certificate else None,
        "serial": certificate.serial if certificate else None,
        "not_before": _iso(certificate.not_before) if certificate else None,
        "not_after": _iso(certificate.not_after) if certificate else None,
        "days_left": _days_left(certificate.not_after, now) if certificate else None,
        "key_online": key is not None and key.reference is not None,
        "crl": {
            "number": ca.crl_number,
            "this_update": _crl_this_update(ca.last_crl) if ca.last_crl else None,
            "next_update": _iso(next_update),
            "stale": bool(ca.crl_stale),
            "fresh": next_update is not None and next_update > now and not ca.crl_stale,
        },
    }


def _subject(certificate: IssuedCertificate) -> str:
    try:
        return str(asn1_x509.Certificate.load(certificate.der).subject.human_friendly)
    except ValueError:
        return certificate.subject


def expiring_seals(
    session: Session, *, now: datetime, organisation_uscc: str | None = None
) -> list[dict[str, Any]]:
    """Seals whose current certificate ends within :data:`EXPIRY_WINDOW`, soonest first."""
    return [
        {
            "seal_id": seal.id,
            "name": seal.name,
            "organisation_name": seal.organisation_name,
            "organisation_uscc": seal.organisation_uscc,
            "status": seal.status,
            "certificate_serial": seal.certificate_serial,
            "not_after": _iso(seal.valid_until),
            "days_left": _days_left(seal.valid_until, now),
        }
        for seal in seal_repository.seals_expiring(
            session, now=now, before=now + EXPIRY_WINDOW, organisation_uscc=organisation_uscc
        )
    ]


def certificate_authorities(session: Session, *, now: datetime) -> list[dict[str, Any]]:
    """The CAs of the hierarchy: certificate validity, key online, CRL freshness."""
    return [_ca(session, ca, now) for ca in key_repository.cas(session)]


def status(admin: Administration, actor: Actor) -> dict[str, Any]:
    """Token-signing keys, CA certificates and CRLs, and seal certificates close to expiry."""
    with admin.reading(actor, "keys.status") as session:
        policy.require_role(actor, SYSTEM, SECURITY, AUDIT)
        now = datetime.now(UTC)
        token = [
            _token_key(row)
            for purpose in TOKEN_PURPOSES
            for row in key_repository.keys(session, purpose=purpose)
            if row.state in ("next", "active", "retired")
        ]
        return {
            "token_signing_keys": token,
            "certificate_authorities": certificate_authorities(session, now=now),
            "seal_certificates_expiring": expiring_seals(session, now=now),
            "expiry_window_days": EXPIRY_WINDOW.days,
        }


def rotate_token_keys(
    admin: Administration, actor: Actor, *, purpose: str = token_keys.PURPOSE, force: bool = False
) -> dict[str, str]:
    """Promote the next token-signing key, retire the active one, publish a new next one
    (``force``: even if the next key was published under five minutes ago)."""
    if purpose not in TOKEN_PURPOSES:
        raise Invalid(
            f"rotation of {purpose!r} keys is not a keys operation: CA keys are replaced by "
            "re-keying the hierarchy, seal keys by renewing the seal"
        )
    with admin.acting(actor, "keys.rotate") as session:
        policy.require_role(actor, SECURITY)
        custody = admin.keys.custody
        try:
            active, upcoming = token_keys.rotate(
                session,
                custody=custody,
                events=admin.events,
                algorithm=(
                    KeyAlgorithm.RS256
                    if purpose == token_keys.RS256_PURPOSE
                    else KeyAlgorithm(custody.settings.key_algorithm)
                ),
                actor=actor.label,
                force=force,
                purpose=purpose,
            )
        except token_keys.RotationError as exc:
            raise Conflict(str(exc)) from None
    return {"purpose": purpose, "active": active, "next": upcoming}


def set_certificate_status(
    admin: Administration,
    actor: Actor,
    *,
    ca: str,
    serial: str,
    status: CertificateStatus,
    reason: str = "unspecified",
) -> dict[str, Any]:
    """Revoke (final, with an RFC 5280 §5.3.1 reason), suspend (certificateHold) or reinstate
    a certificate; the CRL is re-signed at its next fetch and OCSP answers the new status."""
    action = {"revoked": "revoke", "suspended": "suspend", "good": "reinstate"}[status]
    with admin.acting(actor, f"certificates.{action}") as session:
        policy.require_role(actor, SECURITY)
        if ca not in CA_NAMES:
            raise NotFound(f"there is no CA {ca!r}; one of {', '.join(CA_NAMES)}")
        if status == "revoked" and reason not in REVOCATION_REASONS:
            raise Invalid(
                f"unknown revocation reason {reason!r}; one of {', '.join(REVOCATION_REASONS)}"
            )
        try:
            normalised = normalise_serial(serial)
        except HierarchyError as exc:
            raise Invalid(str(exc)) from None
        found = key_repository.certificate_by_serial(
            session, issuer=ca, serial=normalised, for_update=True
        )
        if found is None:
            raise NotFound(f"no certificate {serial} issued by {ca!r}")
        if found.status == "revoked":
            raise Conflict(f"certificate {serial} is already revoked")
        if status == "good" and found.status != "suspended":
            raise Conflict(f"certificate {serial} is not suspended")
        try:
            changed = set_status(
                session,
                hierarchy=admin.keys.hierarchy,
                issuer=ca,
                serial=normalised,
                status=status,
                reason=reason,
                actor=actor.label,
            )
        except HierarchyError as exc:
            raise Conflict(str(exc)) from None
        return certificate_view(changed)


def certificate_view(certificate: IssuedCertificate) -> dict[str, Any]:
    """The API view of an issued certificate."""
    return {
        "issuer": certificate.issuer,
        "serial": certificate.serial,
        "kind": certificate.kind,
        "owner": certificate.owner,
        "subject": certificate.subject,
        "status": certificate.status,
        "revocation_reason": certificate.revocation_reason,
        "not_before": _iso(certificate.not_before),
        "not_after": _iso(certificate.not_after),
    }
