"""PAdES signing with our keys: a pyHanko ``Signer`` over key custody, our TSA in-process,
and the signing pipeline timed stage by stage.

Security contract: the private key never leaves its store (``SigningKey.sign`` is called
with the DER signed attributes; PKCS#11 keys sign in the token). Levels follow ETSI EN 319
142-1: B-B (signature), B-T (+ signature timestamp from our TSA), B-LT (+ DSS with the CRLs
of every CA in the chains), B-LTA (+ document timestamp). What is *not* done here: deciding
whether the seal may be used (``seal.sealing``) or where it goes (``seal.placement``).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import BytesIO
from typing import Any

from asn1crypto import algos, tsp
from asn1crypto import x509 as asn1_x509
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes
from pyhanko.sign.signers.pdf_signer import PdfTBSDocument
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.common_utils import handle_tsp_response
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from keys.algorithms import KeyAlgorithm
from keys.stores import SigningKey
from seal.cms import SignedDataTemplate

LEVELS = ("B-B", "B-T", "B-LT", "B-LTA")
CHUNK = 1 << 20  # pyHanko hashes in 4 KiB chunks by default: 2,500 calls for a 10 MB file


class Stopwatch:
    """Milliseconds spent per named stage (the per-seal breakdown of the benchmark)."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            self.stages[name] = self.stages.get(name, 0.0) + elapsed

    def server_timing(self) -> str:
        """The ``Server-Timing`` header value (W3C Server Timing)."""
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in self.stages.items())


class CustodySigner(signers.Signer):
    """A pyHanko signer whose raw signature comes from a key in our custody."""

    def __init__(
        self, *, key: SigningKey, certificate: asn1_x509.Certificate, chain: list[bytes]
    ) -> None:
        mechanism = "sha256_ecdsa" if key.algorithm is KeyAlgorithm.ES256 else "sha256_rsa"
        registry = SimpleCertificateStore()
        registry.register_multiple(asn1_x509.Certificate.load(der) for der in chain)
        super().__init__(
            signing_cert=certificate,
            cert_registry=registry,
            signature_mechanism=algos.SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=True,
        )
        self.key = key
        self._placeholder = b"\x00" * (72 if key.algorithm is KeyAlgorithm.ES256 else 512)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm != "sha256":
            raise ValueError(f"seal keys sign with SHA-256 only, not {digest_algorithm}")
        if dry_run:
            return self._placeholder
        return self.key.sign(data)


class LocalTimeStamper(TimeStamper):
    """RFC 3161 timestamps from our own TSA, called in-process (no HTTP round trip)."""

    def __init__(self, stamp: Callable[[bytes], bytes]) -> None:
        super().__init__(include_nonce=True)
        self._stamp = stamp

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self._stamp(req.dump()))

    def token_for(self, signature: bytes) -> bytes:
        """The DER TimeStampToken over ``signature`` (RFC 3161 via ETSI EN 319 122-1
        §5.3: the imprint is the SHA-256 of the signature value), nonce checked."""
        nonce, request = self.request_cms(hashlib.sha256(signature).digest(), "sha256")
        response = tsp.TimeStampResp.load(self._stamp(request.dump()))
        return bytes(handle_tsp_response(response, nonce).dump())


@dataclass
class SignRequest:
    """One PDF signature to make on an incremental writer that already holds the stamp."""

    field_name: str
    level: str
    reason: str | None = None
    location: str | None = None
    certify: bool = False
    new_field: fields.SigFieldSpec | None = None
    stamp_style: BaseStampStyle | None = None
    validation_context: ValidationContext | None = None
    name: str | None = None


@dataclass(frozen=True)
class Signed:
    """The signed PDF and the digest its signature covers (hex SHA-256 of the byte ranges)."""

    data: bytes
    signed_digest: str


_loops = threading.local()


def run(coroutine: Any) -> Any:
    """Run a pyHanko coroutine on this thread's own event loop (reused across calls)."""
    loop = getattr(_loops, "loop", None)
    if loop is None:
        loop = _loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coroutine)


def reserve_bytes(*, signer: CustodySigner, timestamped: bool, tsa_chain_bytes: int) -> int:
    """A fixed size for the CMS container (hex, so twice the DER), generous enough that no
    dry-run signature is needed to size it (pyHanko otherwise signs every document twice)."""
    own = signer.signing_cert
    assert own is not None  # a CustodySigner always has its certificate
    certificates = len(own.dump()) + sum(len(c.dump()) for c in signer.cert_registry)
    der = certificates + len(signer._placeholder) + 1536
    if timestamped:
        der += tsa_chain_bytes + 1536
    return 2 * der + 2048


def sign(
    writer: Any,
    *,
    request: SignRequest,
    signer: CustodySigner,
    timestamper: TimeStamper | None,
    bytes_reserved: int,
    watch: Stopwatch,
    template: SignedDataTemplate | None = None,
) -> Signed:
    """Sign the document in ``writer`` (an ``IncrementalPdfFileWriter``)."""
    level = request.level
    long_term = level in ("B-LT", "B-LTA")
    meta = signers.PdfSignatureMetadata(
        field_name=request.field_name,
        md_algorithm="sha256",
        reason=request.reason,
        location=request.location,
        name=request.name,
        certify=request.certify,
        docmdp_permissions=fields.MDPPerm.FILL_FORMS,
        subfilter=fields.SigSeedSubFilter.PADES,
        embed_validation_info=long_term,
        use_pades_lta=level == "B-LTA",
        validation_context=request.validation_context if long_term else None,
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        timestamper=timestamper if level != "B-B" else None,
        stamp_style=request.stamp_style,
        new_field_spec=request.new_field,
    )
    output = BytesIO()

    async def assembled() -> bytes:
        # B-B and B-T: the CMS from the seal's precomputed DER parts (see seal.cms).
        assert template is not None
        with watch.stage("stamp"):
            session = pdf_signer.init_signing_session(
                writer, existing_fields_only=request.new_field is None
            )
            tbs = session.prepare_tbs_document(validation_info=None, bytes_reserved=bytes_reserved)
        with watch.stage("hash"):
            prepared, result = tbs.digest_tbs_document(output=output, chunk_size=CHUNK)
        with watch.stage("sign"):
            stamp = timestamper.token_for if isinstance(timestamper, LocalTimeStamper) else None
            der = template.content_info(
                prepared.document_digest, timestamp=stamp if level == "B-T" else None
            )
        if 2 * len(der) > bytes_reserved:  # our sizing is wrong: a bug, never the client's
            raise RuntimeError(f"the CMS ({len(der)} bytes) outgrew its reservation")
        with watch.stage("write"):
            await PdfTBSDocument.async_finish_signing(result, prepared, der)
        return bytes(prepared.document_digest)

    async def pipeline() -> bytes:
        with watch.stage("stamp"):
            session = pdf_signer.init_signing_session(
                writer, existing_fields_only=request.new_field is None
            )
            validation = await session.perform_presign_validation(writer)
            tbs = session.prepare_tbs_document(
                validation_info=validation, bytes_reserved=bytes_reserved
            )
        with watch.stage("hash"):
            prepared, result = tbs.digest_tbs_document(output=output, chunk_size=CHUNK)
        with watch.stage("sign"):
            post = await tbs.perform_signature(
                document_digest=prepared.document_digest,
                pdf_cms_signed_attrs=PdfCMSSignedAttributes(
                    signing_time=session.system_time,
                    adobe_revinfo_attr=None,
                ),
            )
        with watch.stage("write"):
            await post.post_signature_processing(result, chunk_size=CHUNK)
        return bytes(prepared.document_digest)

    fast = template is not None and (
        level == "B-B" or (level == "B-T" and isinstance(timestamper, LocalTimeStamper))
    )
    digest = run(assembled() if fast else pipeline())
    return Signed(data=output.getvalue(), signed_digest=digest.hex())
