"""The CA hierarchy: root CA -> issuing CAs (seal, infra) -> seal, TSA and OCSP certificates.

``init`` is idempotent: it creates whatever part of the hierarchy is missing and nothing
else. Every creation, issuance and status change is recorded through the event recorder in
the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import x509
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.clock import as_utc
from core.events import EventRecorder
from core.settings import Settings
from keys import repository
from keys.algorithms import KeyAlgorithm
from keys.custody import CustodyError, KeyCustody
from keys.models import CertificateAuthority, IssuedCertificate
from keys.stores import SigningKey
from keys.token_keys import ensure_token_keys
from keys.x509_builder import (
    Endpoints,
    Issuer,
    build_name,
    ca_extensions,
    end_entity_extensions,
    random_serial,
    sign_certificate,
)

ROOT, SEAL_CA, INFRA_CA = "root", "seal", "infra"
ISSUING_CAS = (SEAL_CA, INFRA_CA)
CA_NAMES = (ROOT, *ISSUING_CAS)
CA_TITLES = {ROOT: "Root CA", SEAL_CA: "Seal CA", INFRA_CA: "Infrastructure CA"}
CA_YEARS = {ROOT: 20, SEAL_CA: 10, INFRA_CA: 10}
RESPONDER_DAYS = 365  # no revocation check for responders (ocsp-nocheck): keep them short
TSA_DAYS = 5 * 365
BACKDATE = timedelta(minutes=5)  # tolerate relying parties whose clocks run a little slow

# The key that signs audit-log checkpoints (always ECDSA P-256: signed-note type 0x02).
AUDIT_LOG_PURPOSE = "audit-log"

# Arbitrary but fixed advisory-lock key serialising `keys init` across processes.
INIT_LOCK_KEY = 0x74786B657973


class HierarchyError(ValueError):
    """A hierarchy operation was refused; the message says why."""


@dataclass
class InitReport:
    """What ``init`` created (empty when everything already existed)."""

    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


class Hierarchy:
    """Operations on the CA hierarchy, through key custody."""

    def __init__(self, *, settings: Settings, custody: KeyCustody, events: EventRecorder):
        self.settings = settings
        self.custody = custody
        self.events = events

    # --- endpoints ------------------------------------------------------------------------

    def endpoints(self, ca_name: str) -> Endpoints:
        """Where to find ``ca_name``'s certificate, CRL and OCSP responder."""
        base = self.settings.issuer
        return Endpoints(
            ca_issuers_url=f"{base}/pki/ca/{ca_name}.crt",
            crl_url=f"{base}/pki/crl/{ca_name}.crl",
            ocsp_url=f"{base}/pki/ocsp",
        )

    def _ca_name(self, ca_name: str) -> x509.Name:
        return build_name(
            common_name=f"{self.settings.pki_name} {CA_TITLES[ca_name]}",
            organization=self.settings.pki_name,
        )

    def issuer(self, session: Session, ca_name: str) -> Issuer:
        """The issuing side of ``ca_name`` (its key must be online)."""
        ca = repository.ca(session, ca_name)
        if ca is None:
            raise HierarchyError(f"unknown CA {ca_name!r}")
        certificate = self.ca_certificate(session, ca_name)
        name = x509.Certificate.load(certificate.der).subject
        try:
            key = self.custody.signing_key(session, ca.key_id)
        except CustodyError as exc:
            raise HierarchyError(f"the {ca_name} CA cannot sign: {exc}") from None
        return Issuer(name=name, key=key)

    def ca_certificate(self, session: Session, ca_name: str) -> IssuedCertificate:
        """The current certificate of ``ca_name``."""
        ca = repository.ca(session, ca_name)
        if ca is None:
            raise HierarchyError(f"unknown CA {ca_name!r}")
        certificate = repository.certificate(session, ca.certificate_id)
        assert certificate is not None
        return certificate

    # --- init -----------------------------------------------------------------------------

    def init(self, session: Session, *, actor: str) -> InitReport:
        """Create the missing parts of the hierarchy and the token-signing keys."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": INIT_LOCK_KEY})
        report = InitReport()
        algorithm = KeyAlgorithm(self.settings.key_algorithm)
        if not repository.keys_in_state(session, purpose=AUDIT_LOG_PURPOSE, states=("active",)):
            # First, so that the checkpoint closing this very transaction can be signed.
            self._replace_key(
                session,
                purpose=AUDIT_LOG_PURPOSE,
                owner="audit",
                algorithm=KeyAlgorithm.ES256,
                actor=actor,
            )
            report.created.append("audit log key")
        for name in CA_NAMES:  # the root first: it signs the others
            if repository.ca(session, name) is None:
                self._create_ca(session, name, algorithm=algorithm, actor=actor)
                report.created.append(f"{name} CA")
        for name in CA_NAMES:
            if not self._current(session, kind="ocsp", owner=name):
                try:
                    self.issue_responder_certificate(session, ca_name=name, actor=actor)
                    report.created.append(f"OCSP responder for {name} CA")
                except HierarchyError as exc:  # e.g. the root key is offline
                    report.skipped.append(f"OCSP responder for {name} CA: {exc}")
        if not self._current(session, kind="tsa", owner="tsa"):
            try:
                self.issue_tsa_certificate(session, actor=actor)
                report.created.append("TSA certificate")
            except HierarchyError as exc:
                report.skipped.append(f"TSA certificate: {exc}")
        report.created += ensure_token_keys(
            session, custody=self.custody, events=self.events, algorithm=algorithm, actor=actor
        )
        return report

    def _current(self, session: Session, *, kind: str, owner: str) -> IssuedCertificate | None:
        now = datetime.now(UTC)
        for certificate in reversed(repository.certificates(session, kind=kind, owner=owner)):
            if certificate.status == "good" and as_utc(certificate.not_after) > now + timedelta(
                days=30
            ):
                return certificate
        return None

    def record_certificate(
        self,
        session: Session,
        *,
        issuer: str,
        kind: str,
        owner: str | None,
        key: SigningKey,
        certificate: x509.Certificate,
        actor: str,
    ) -> IssuedCertificate:
        row = IssuedCertificate(
            issuer=issuer,
            serial=format(certificate.serial_number, "x"),
            kind=kind,
            subject=certificate.subject.human_friendly,
            owner=owner,
            key_id=key.key_id,
            der=certificate.dump(),
            not_before=certificate.not_valid_before,
            not_after=certificate.not_valid_after,
            status="good",
        )
        session.add(row)
        session.flush()
        self.events.record(
            session,
            type="certificate.issued",
            actor=actor,
            subject=f"{issuer}:{row.serial}",
            details={"kind": kind, "owner": owner, "key_id": key.key_id, "subject": row.subject},
        )
        return row

    def issue(
        self,
        session: Session,
        *,
        issuer: Issuer,
        issuer_ca: str,
        kind: str,
        owner: str,
        key: SigningKey,
        subject: x509.Name,
        days: int,
        extensions: list[dict[str, Any]],
        actor: str,
    ) -> IssuedCertificate:
        """Sign a certificate for ``key`` (never outliving the issuer's own) and record it."""
        now = datetime.now(UTC)
        not_after = now + timedelta(days=days)
        if issuer.name != subject or issuer.key is not key:  # not self-signed: cap validity
            not_after = min(not_after, as_utc(self.ca_certificate(session, issuer_ca).not_after))
        certificate = sign_certificate(
            issuer=issuer,
            subject=subject,
            subject_public_key_der=key.public_key_der,
            serial=random_serial(),
            not_before=now - BACKDATE,
            not_after=not_after,
            extensions=extensions,
        )
        return self.record_certificate(
            session,
            issuer=issuer_ca,
            kind=kind,
            owner=owner,
            key=key,
            certificate=certificate,
            actor=actor,
        )

    def _create_ca(
        self, session: Session, name: str, *, algorithm: KeyAlgorithm, actor: str
    ) -> None:
        purpose = "root-ca" if name == ROOT else "issuing-ca"
        key = self._replace_key(
            session, purpose=purpose, owner=name, algorithm=algorithm, actor=actor
        )
        if name == ROOT:
            issuer = Issuer(name=self._ca_name(ROOT), key=key)
            extensions = ca_extensions(path_length=1, endpoints=None)
        else:
            issuer = self.issuer(session, ROOT)
            extensions = ca_extensions(path_length=0, endpoints=self.endpoints(ROOT))
        row = self.issue(
            session,
            issuer=issuer,
            issuer_ca=ROOT,
            kind="ca",
            owner=name,
            key=key,
            subject=self._ca_name(name),
            days=365 * CA_YEARS[name],
            extensions=extensions,
            actor=actor,
        )
        session.add(
            CertificateAuthority(
                name=name,
                parent=None if name == ROOT else ROOT,
                key_id=key.key_id,
                certificate_id=row.id,
                crl_number=0,
            )
        )

    def _replace_key(
        self, session: Session, *, purpose: str, owner: str, algorithm: KeyAlgorithm, actor: str
    ) -> SigningKey:
        """A new active key for ``purpose``/``owner``; the previous ones are retired."""
        now = datetime.now(UTC)
        for row in repository.keys_in_state(session, purpose=purpose, states=("active",)):
            if row.owner == owner:
                row.state, row.retired_at = "retired", now
        key = self.custody.generate(
            session, purpose=purpose, algorithm=algorithm, state="active", owner=owner
        )
        self.events.record(
            session,
            type="key.generated",
            actor=actor,
            subject=key.key_id,
            details={"purpose": purpose, "owner": owner, "algorithm": algorithm.value},
        )
        return key

    def issue_responder_certificate(
        self, session: Session, *, ca_name: str, actor: str
    ) -> IssuedCertificate:
        """A delegated OCSP responder certificate for ``ca_name`` (RFC 6960 §4.2.2.2)."""
        issuer = self.issuer(session, ca_name)
        key = self._replace_key(
            session, purpose="ocsp", owner=ca_name, algorithm=issuer.key.algorithm, actor=actor
        )
        return self.issue(
            session,
            issuer=issuer,
            issuer_ca=ca_name,
            kind="ocsp",
            owner=ca_name,
            key=key,
            subject=build_name(
                common_name=f"{self.settings.pki_name} OCSP Responder ({ca_name})",
                organization=self.settings.pki_name,
            ),
            days=RESPONDER_DAYS,
            extensions=end_entity_extensions(
                key_usage={"digital_signature"},
                extended_key_usage=["ocsp_signing"],
                endpoints=self.endpoints(ca_name),
                ocsp_no_check=True,
                revocation_pointers=False,
            ),
            actor=actor,
        )

    def issue_tsa_certificate(self, session: Session, *, actor: str) -> IssuedCertificate:
        """The time-stamping unit's certificate (EKU timeStamping, critical; RFC 3161 §2.3)."""
        issuer = self.issuer(session, INFRA_CA)
        key = self._replace_key(
            session, purpose="tsa", owner="tsa", algorithm=issuer.key.algorithm, actor=actor
        )
        return self.issue(
            session,
            issuer=issuer,
            issuer_ca=INFRA_CA,
            kind="tsa",
            owner="tsa",
            key=key,
            subject=build_name(
                common_name=f"{self.settings.pki_name} Time Stamping Unit",
                organization=self.settings.pki_name,
            ),
            days=TSA_DAYS,
            extensions=end_entity_extensions(
                key_usage={"digital_signature", "non_repudiation"},
                extended_key_usage=["time_stamping"],
                endpoints=self.endpoints(INFRA_CA),
            ),
            actor=actor,
        )
