"""The per-process sealing service: settings, database, store, keys, the audit log, and what
is worth keeping between requests (loaded signers, compressed seal images, CRL bundles).

Nothing cached here decides whether a seal may be used: seal status, certificate status and
grants are read from the database on every sealing; caches hold only immutable material
keyed by certificate serial, and CRLs for at most a minute.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import ValidationContext
from sqlalchemy.orm import Session

from audit.group_commit import GroupCommit
from audit.log import AuditLog
from core.database import Database
from core.settings import Settings
from core.store import Store
from core.ttl_cache import TtlCache
from keys import crl, tsa
from keys import repository as key_repository
from keys.data_keys import DataKeys
from keys.hierarchy import INFRA_CA, ROOT, SEAL_CA
from keys.models import IssuedCertificate
from keys.runtime import KeyServices
from seal.appearance import SealImage
from seal.cms import SignedDataTemplate
from seal.pades import CustodySigner, LocalTimeStamper, reserve_bytes

_CRL_SECONDS = 60.0


@dataclass
class SealMaterial:
    """Everything needed to sign with one certificate of one seal."""

    signer: CustodySigner
    template: SignedDataTemplate
    image: SealImage
    reserve_b_b: int
    reserve_b_t: int


@dataclass(frozen=True)
class Authorised:
    """What the checks before the work found: the grant, the certificate, the signer."""

    key: tuple[str, str, str | None]
    grant_id: str
    serial: str
    material: SealMaterial
    signer_name: str


class SealingService:
    """One process's sealing service."""

    def __init__(
        self,
        *,
        settings: Settings,
        database: Database,
        store: Store,
        keys: KeyServices,
        audit: AuditLog,
        data_keys: DataKeys,
    ) -> None:
        self.settings = settings
        self.database = database
        self.store = store
        self.keys = keys
        self.audit = audit
        # Sealings in flight share their log transaction (one commit, one checkpoint).
        self.group_commit = GroupCommit(audit)
        self.data_keys = data_keys
        self._threads = threading.local()
        # Checks made before the work, per (client, seal, document type); the sealing
        # transaction repeats them in the database, so this only spares a round of reads.
        self.authorisations: TtlCache[tuple[str, str, str | None], Authorised] = TtlCache(seconds=5)
        self._materials: dict[tuple[str, str], SealMaterial] = {}
        self._images: dict[str, SealImage] = {}
        self._context: tuple[float, tuple[list[bytes], list[bytes]]] | None = None
        self._lock = threading.Lock()

    @property
    def timestamper(self) -> LocalTimeStamper:
        """This thread's timestamper: pyHanko's keeps per-instance caches that are not safe
        to fill from several threads at once."""
        found: LocalTimeStamper | None = getattr(self._threads, "timestamper", None)
        if found is None:
            found = self._threads.timestamper = LocalTimeStamper(self._timestamp)
        return found

    def _timestamp(self, request_der: bytes) -> bytes:
        with self.database.transaction() as session:
            return tsa.timestamp(session, hierarchy=self.keys.hierarchy, request_der=request_der)

    def data_key(self, purpose: str) -> bytes:
        """A data key (e.g. for CSRF tokens), cached after its first committed use."""
        cached = self.data_keys.cached(purpose)
        if cached is not None:
            return cached
        with self.database.transaction() as session:
            return self.data_keys.get(session, purpose)

    def ca_der(self, session: Session, name: str) -> bytes:
        """The DER certificate of CA ``name`` as it is now."""
        return self.keys.hierarchy.ca_certificate(session, name).der

    def material(
        self,
        session: Session,
        *,
        seal_id: str,
        image: Callable[[], bytes],
        certificate: IssuedCertificate,
    ) -> SealMaterial:
        """The signer and image for ``certificate`` of ``seal_id`` (loaded once per process)."""
        cache_key = (seal_id, certificate.serial)
        with self._lock:
            found = self._materials.get(cache_key)
        if found is not None:
            return found
        key = self.keys.custody.signing_key(session, certificate.key_id)
        chain = [self.ca_der(session, SEAL_CA), self.ca_der(session, ROOT)]
        parsed = asn1_x509.Certificate.load(certificate.der)
        signer = CustodySigner(key=key, certificate=parsed, chain=chain)
        tsa_chain = len(self._tsa_certificate(session)) + len(self.ca_der(session, INFRA_CA))
        material = SealMaterial(
            signer=signer,
            template=SignedDataTemplate(key=key, certificate=parsed, chain=chain),
            image=SealImage(image()),  # loaded only here: the PNG is a deferred column
            reserve_b_b=reserve_bytes(signer=signer, timestamped=False, tsa_chain_bytes=0),
            reserve_b_t=reserve_bytes(signer=signer, timestamped=True, tsa_chain_bytes=tsa_chain),
        )
        with self._lock:
            self._materials[cache_key] = material
        return material

    def forget(self, seal_id: str) -> None:
        """Drop what is cached for a seal (its key changed)."""
        with self._lock:
            for key in [k for k in self._materials if k[0] == seal_id]:
                del self._materials[key]

    def _tsa_certificate(self, session: Session) -> bytes:
        rows = key_repository.certificates(session, kind="tsa")
        return rows[-1].der if rows else b""

    def validation_context(self, session: Session) -> ValidationContext:
        """Trust in our root with the CRLs of every CA (read at most a minute ago) and no
        network fetching: what B-LT signing embeds. A new context per call, since a
        context keeps per-validation state; only the DER inputs are shared."""
        now = time.monotonic()
        with self._lock:
            cached = self._context
        if cached is None or now - cached[0] >= _CRL_SECONDS:
            cached = (now, self.revocation_inputs(session))
            with self._lock:
                self._context = cached
        return self.context_from(*cached[1])

    def revocation_inputs(self, session: Session) -> tuple[list[bytes], list[bytes]]:
        """The CA certificates (root first) and their current CRLs, as DER."""
        certificates = [self.ca_der(session, name) for name in (ROOT, SEAL_CA, INFRA_CA)]
        crls = [
            crl.current_crl(session, hierarchy=self.keys.hierarchy, ca_name=name)[0]
            for name in (ROOT, SEAL_CA, INFRA_CA)
        ]
        return certificates, crls

    @staticmethod
    def context_from(certificates: list[bytes], crls: list[bytes]) -> ValidationContext:
        """A validation context trusting the first certificate, with the CRLs, offline."""
        root, *issuing = (asn1_x509.Certificate.load(der) for der in certificates)
        return ValidationContext(
            trust_roots=[root],
            other_certs=issuing,
            crls=crls,
            allow_fetching=False,
            revocation_mode="hard-fail",
        )
