"""Sealing one document: authorise, place, stamp, sign, then count the use, record the
sealing and append it to the audit log in one transaction.

Security contract: every call checks the grant (client, seal, document type, expiry, uses),
the seal (status, validity window) and its certificate (not revoked or on hold) in the
database. The signed bytes are only returned after the transaction that counts the use and
appends the audit entry has committed: a seal is either issued *and* logged, or neither.
Sealings in flight in one process share that transaction (``audit.group_commit``), each in
a savepoint of its own, so one refused there undoes nothing of the others.
Bearer-token checks (signature, expiry, scope) happen before this, in the router.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError, PdfReadError
from pyhanko.sign import fields
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.clock import as_utc
from keys.custody import CustodyError
from keys.stores import KeyStoreError
from seal import appearance, grants, pades, placement, registry, repository
from seal.document import Document, open_pdf
from seal.errors import (
    CertificateRevoked,
    IdempotencyConflict,
    InvalidLevel,
    InvalidSealRequest,
    MalformedPdf,
    SealError,
    SealExpired,
    SealNotActive,
    SigningUnavailable,
)
from seal.existing_signatures import check_existing_signatures
from seal.runtime import Authorised, SealingService

log = logging.getLogger("tongxing.seal")

FIELD_PREFIX = "Tongxing-Seal-"
MAX_CROSS_PAGES = 60  # thinner strips than about 2 mm no longer show the seal


@dataclass(frozen=True)
class SealingRequest:
    """What a certificate system asks for, besides the PDF."""

    seal_id: str
    placement: placement.PlacementRequest
    level: str = "B-T"
    reason: str | None = None
    location: str | None = None
    document_type: str | None = None
    cross_page: bool = False
    qr: bool = True
    certify: bool = False
    # For a token exchanged for a person (seal.delegation): whom the client seals for
    # (``sub``, the organisation's ``org`` code, an agent's ``authorisation_id``); recorded.
    on_behalf_of: dict[str, str] | None = None


@dataclass
class SealedResult:
    """A sealed document and where its sealing is recorded."""

    document_id: str
    data: bytes
    audit_index: int
    signed_digest: str
    timings: pades.Stopwatch = field(default_factory=pades.Stopwatch)


class _Writer(IncrementalPdfFileWriter):
    """pyHanko's incremental writer copying the original in 1 MiB chunks, not 4 KiB ones
    (2,500 Python-level copies for a 10 MB document otherwise)."""

    IO_CHUNK_SIZE = 1 << 20


DOCUMENT_ID = re.compile(r"doc_[0-9a-f]{24}")


def new_document_id() -> str:
    """A document id: unguessable, so the QR link reveals nothing about other documents."""
    return "doc_" + secrets.token_hex(12)


def is_document_id(value: str) -> bool:
    """Whether ``value`` has the shape of :func:`new_document_id`'s ids."""
    return DOCUMENT_ID.fullmatch(value) is not None


def verify_url(issuer: str, document_id: str) -> str:
    """The QR code's link: ``/v/<id>``, short so the code needs few modules (version 4 for
    an issuer of up to 30 characters), redirecting to ``/verify?document=<id>``."""
    return f"{issuer}/v/{document_id}"


def file_digests(original: bytes, sealed: bytes) -> tuple[str, str]:
    """Hex SHA-256 of the submitted and of the sealed file (what an auditor's ``sha256sum``
    prints), hashing the original only once: sealing appends an incremental update to the
    original bytes, so the sealed file's hash carries on from the original's state."""
    digest = hashlib.sha256(original)
    submitted = digest.hexdigest()
    if sealed.startswith(original):  # a memcmp, far cheaper than hashing again
        digest.update(memoryview(sealed)[len(original) :])
        return submitted, digest.hexdigest()
    return submitted, hashlib.sha256(sealed).hexdigest()


def _check_seal(
    session: Session,
    *,
    seal_id: str,
    now: datetime,
    for_update: bool = False,
    serial: str | None = None,
) -> Any:
    """The active seal in its window and the good certificate it signs with (``serial``,
    default: its current one), or the precise refusal."""
    seal = registry.get(session, seal_id, for_update=for_update)
    if seal.status != "active":
        raise SealNotActive(f"seal {seal_id} is {seal.status}", seal_status=seal.status)
    if not registry.in_window(seal, now):
        raise SealExpired(
            f"seal {seal_id} is valid from {as_utc(seal.valid_from):%Y-%m-%d} "
            f"until {as_utc(seal.valid_until):%Y-%m-%d}"
        )
    certificate = registry.certificate(session, seal, serial=serial)
    if certificate.status != "good":
        raise CertificateRevoked(
            f"the certificate of seal {seal_id} is {certificate.status}",
            certificate_status=certificate.status,
        )
    return seal, certificate


def _usable(
    seal_status: str,
    valid_from: datetime,
    valid_until: datetime,
    certificate_status: str,
    *,
    now: datetime,
) -> bool:
    """What :func:`_check_seal` accepts: an active seal in its window, a good certificate."""
    return (
        seal_status == "active"
        and registry.within(valid_from, valid_until, now)
        and certificate_status == "good"
    )


def seal_document(
    service: SealingService,
    *,
    client_id: str,
    request: SealingRequest,
    data: bytes,
    document_id: str | None = None,
    idempotency_key: str | None = None,
) -> SealedResult:
    """Seal ``data`` for ``client_id`` as ``request`` says, or raise a :class:`SealError`.
    With ``idempotency_key`` (a digest of the client's key), the database refuses a second
    sealing under the same key even if the store forgot the first."""
    watch = pades.Stopwatch()
    if request.level not in pades.LEVELS:
        raise InvalidLevel(f"level must be one of {', '.join(pades.LEVELS)}")
    with watch.stage("parse"):
        document = open_pdf(data, max_bytes=service.settings.seal_max_pdf_bytes)
        if document.signature_count:
            check_existing_signatures(document)
    now = datetime.now(UTC)
    with watch.stage("authorise"):
        allowed = _authorise(service, client_id=client_id, request=request, now=now)
    material, serial, grant_id = allowed.material, allowed.serial, allowed.grant_id
    context = None
    if request.level in ("B-LT", "B-LTA"):
        with service.database.transaction() as session:
            context = service.validation_context(session)
    document_id = document_id or new_document_id()
    with watch.stage("stamp"):
        where = placement.resolve(document, request.placement)
        writer = _decorate(
            service,
            document=document,
            request=request,
            where=where,
            material=material,
            document_id=document_id,
        )
    signed = _sign(
        service,
        writer=writer,
        request=request,
        where=where,
        material=material,
        context=context,
        document_id=document_id,
        first_signature=document.signature_count == 0,
        signer_name=allowed.signer_name,
        watch=watch,
    )
    with watch.stage("hash"):  # the files' own digests, for the entry (auditors' sha256sum)
        digests = file_digests(data, signed.data)
    with watch.stage("log"):
        try:
            audit_index = _record(
                service,
                client_id=client_id,
                request=request,
                document_id=document_id,
                grant_id=grant_id,
                serial=serial,
                signed=signed,
                original=data,
                file_digests=digests,
                idempotency_key=idempotency_key,
            )
        except SealError:
            service.authorisations.drop(allowed.key)  # the next call reads it all again
            raise
    return SealedResult(
        document_id=document_id,
        data=signed.data,
        audit_index=audit_index,
        signed_digest=signed.signed_digest,
        timings=watch,
    )


def _authorise(
    service: SealingService, *, client_id: str, request: SealingRequest, now: datetime
) -> Authorised:
    """The grant, seal and certificate checks before any work, remembered for a few seconds
    per process (``SealingService.authorisations``). Remembering is safe because the sealing
    transaction checks all of it again in the database (``_record``): a grant revoked, a
    seal suspended or a certificate revoked in between still stops the sealing there."""
    key = (client_id, request.seal_id, request.document_type)
    found = service.authorisations.get(key)
    if found is not None:
        return found
    with service.database.transaction() as session:
        # The grant first: a client learns nothing about seals it was not granted (an
        # unknown seal and someone else's seal both get no-grant).
        grant = grants.authorise(
            session,
            seal_id=request.seal_id,
            client_id=client_id,
            document_type=request.document_type,
            now=now,
        )
        seal, certificate = _check_seal(session, seal_id=request.seal_id, now=now)
        try:
            material = service.material(
                session, seal_id=seal.id, image=lambda: seal.image, certificate=certificate
            )
        except (CustodyError, KeyStoreError) as exc:
            raise SigningUnavailable(f"the key of seal {seal.id} cannot sign: {exc}") from None
        allowed = Authorised(
            key=key,
            grant_id=grant.id,
            serial=certificate.serial,
            material=material,
            signer_name=f"{seal.organisation_name} {seal.name}",
        )
    service.authorisations.put(key, allowed)
    return allowed


def _decorate(
    service: SealingService,
    *,
    document: Document,
    request: SealingRequest,
    where: placement.Placement,
    material: Any,
    document_id: str,
) -> IncrementalPdfFileWriter:
    """The incremental update carrying the QR code and the cross-page seal (page content
    changes are only made in documents nobody has signed yet: after a signature they
    would count as modifications of the earlier signed revision)."""
    try:
        writer = _Writer(BytesIO(document.data), prev=document.reader)
    except Exception as exc:
        raise MalformedPdf(f"the PDF cannot be updated: {exc}") from None
    unsigned = document.signature_count == 0
    if request.cross_page:
        if document.page_count < 2:
            raise InvalidSealRequest("a cross-page seal needs a document of two or more pages")
        if document.page_count > MAX_CROSS_PAGES:
            raise InvalidSealRequest(
                f"a cross-page seal is spread over at most {MAX_CROSS_PAGES} pages"
            )
        if not unsigned:
            raise InvalidSealRequest("a cross-page seal can only be added before any signature")
    if not unsigned:
        return writer
    try:
        if request.qr:
            appearance.add_qr(
                writer,
                page=where.page,
                url=verify_url(service.settings.issuer, document_id),
                page_box=document.page_box(where.page),
                avoid=where.box,  # the new seal; an existing field's area is not avoided
            )
        if request.cross_page:
            appearance.add_cross_page_seal(
                writer,
                image=material.image,
                diameter=request.placement.diameter,
                page_boxes=[document.page_box(i) for i in range(document.page_count)],
            )
    except SealError:
        raise
    except Exception as exc:
        raise MalformedPdf(f"the pages cannot be updated: {exc}") from None
    return writer


def _sign(
    service: SealingService,
    *,
    writer: IncrementalPdfFileWriter,
    request: SealingRequest,
    where: placement.Placement,
    material: Any,
    context: Any,
    document_id: str,
    first_signature: bool,
    signer_name: str,
    watch: pades.Stopwatch,
) -> pades.Signed:
    field_name = where.field or FIELD_PREFIX + document_id
    new_field = None
    if where.field is None:
        assert where.box is not None
        new_field = fields.SigFieldSpec(
            sig_field_name=field_name,
            on_page=where.page,
            box=tuple(round(v, 3) for v in where.box),  # type: ignore[arg-type]
        )
    sign_request = pades.SignRequest(
        field_name=field_name,
        level=request.level,
        reason=request.reason,
        location=request.location,
        # Certifying (DocMDP P=2) is opt-in: it also forbids later seals in new fields,
        # and documents often get a second seal. Our verifier fails annotations and other
        # changes after sealing either way; certification tells other validators too.
        certify=request.certify and first_signature,
        new_field=new_field,
        stamp_style=appearance.stamp_style(material.image),
        validation_context=context,
        name=signer_name,
    )
    reserve = material.reserve_b_b if request.level == "B-B" else material.reserve_b_t
    try:
        return pades.sign(
            writer,
            request=sign_request,
            signer=material.signer,
            timestamper=service.timestamper,
            bytes_reserved=reserve,
            watch=watch,
            template=material.template,
        )
    except SealError:
        raise
    except (CustodyError, KeyStoreError, TimestampRequestError) as exc:
        log.warning("sealing could not sign: %s", type(exc).__name__)
        raise SigningUnavailable("the seal key or the time-stamping unit cannot sign now") from None
    except SigningError as exc:
        if "reserved" in str(exc).lower() or "larger than expected" in str(exc):
            raise  # our reservation was too small: a bug to see in the logs, not the client's
        raise MalformedPdf(f"the PDF cannot be sealed: {str(exc)[:200]}") from None
    except (PdfError, PdfReadError) as exc:
        # pyHanko met something in the document it cannot update (its read errors only:
        # anything else is our fault and becomes a 500 without details).
        raise MalformedPdf(f"the PDF cannot be sealed: {str(exc)[:200]}") from None


def _record(
    service: SealingService,
    *,
    client_id: str,
    request: SealingRequest,
    document_id: str,
    grant_id: str,
    serial: str,
    signed: pades.Signed,
    original: bytes,
    file_digests: tuple[str, str],
    idempotency_key: str | None,
) -> int:
    now = datetime.now(UTC)
    original_size = len(original)

    def record(session: Session) -> int:
        # Runs in a transaction shared with the other sealings in flight in this process
        # (``audit.group_commit``), in a savepoint of its own: a refusal here undoes only
        # this sealing's rows, and the result is returned once the transaction committed.
        grant = grant_id
        # Re-read under the transaction that counts the use: a suspension or revocation
        # committed while we were signing wins, and the signed bytes are thrown away. One
        # statement locking the seal row as _check_seal does; anything but an active seal
        # in its window with a good certificate goes to _check_seal for the precise refusal.
        state = repository.seal_state(session, request.seal_id, serial=serial)
        if state is None or not _usable(*state, now=now):
            _check_seal(session, seal_id=request.seal_id, now=now, for_update=True, serial=serial)
        if not repository.use_grant(session, grant, now=now):
            # Used up, expired or revoked since: another grant may still allow it, or
            # authorise() raises the precise reason.
            grant = grants.authorise(
                session,
                seal_id=request.seal_id,
                client_id=client_id,
                document_type=request.document_type,
                now=now,
            ).id
            if not repository.use_grant(session, grant, now=now):
                raise InvalidSealRequest("the grant changed while sealing; try again")
        details: dict[str, object] = {
            "document_id": document_id,
            "seal_id": request.seal_id,
            "client_id": client_id,
            "grant_id": grant,
            "certificate_serial": serial,
            "level": request.level,
            "document_type": request.document_type,
            "signed_digest": signed.signed_digest,
            "original_size": original_size,
            # `tongxing audit find --file` (and sha256sum) find the entry from either file.
            "original_sha256": file_digests[0],
            "sealed_sha256": file_digests[1],
        }
        if request.on_behalf_of is not None:
            details["on_behalf_of"] = request.on_behalf_of
        appended = service.audit.append(
            session,
            type="seal.applied",
            actor=f"client:{client_id}",
            subject=document_id,
            details=details,
            file_digests=file_digests,
        )
        repository.insert_sealed_document(
            session,
            {
                "id": document_id,
                "seal_id": request.seal_id,
                "client_id": client_id,
                "grant_id": grant,
                "idempotency_key": idempotency_key,
                "signed_digest": signed.signed_digest,
                "original_size": original_size,
                "document_type": request.document_type,
                "level": request.level,
                "certificate_serial": serial,
                "audit_index": appended.index,
                "details": {"cross_page": request.cross_page, "qr": request.qr},
                "created_at": now,
            },
        )
        return appended.index

    try:
        return service.group_commit.run(record)
    except IntegrityError as exc:
        if idempotency_key is None or (
            "idempotency_key" not in str(exc.orig)
            and ("uq_sealed_documents_client_id" not in str(exc.orig))
        ):
            raise
        raise IdempotencyConflict(
            "a document was already sealed with this Idempotency-Key"
        ) from None
