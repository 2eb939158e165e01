"""Every refusal of the sealing service, one class per stable problem type (RFC 9457).

The ``kind`` of each class is part of the API: ``urn:tongxing:problem:<kind>``. Routers turn
a :class:`SealError` into a problem document; a batch reports it per document.
"""

from __future__ import annotations

from core.errors import Problem, Refusal


class SealError(Refusal):
    """A request the sealing service refuses; nothing was sealed or logged as a success."""

    kind = "seal-error"
    status = 400
    title = "Sealing refused"


class NotPdf(SealError):
    kind, status, title = "not-a-pdf", 415, "The upload is not a PDF"


class MalformedPdf(SealError):
    kind, status, title = "malformed-pdf", 422, "The PDF cannot be read"


class EncryptedPdf(SealError):
    kind, status, title = "encrypted-pdf", 422, "Encrypted PDFs cannot be sealed"


class PdfTooLarge(SealError):
    kind, status, title = "pdf-too-large", 413, "The PDF is larger than allowed"


class ExistingSignatureBroken(SealError):
    kind, status, title = (
        "existing-signature-broken",
        422,
        "A signature already in the PDF does not verify",
    )


class PdfTooComplex(SealError):
    kind, status, title = "pdf-too-complex", 422, "The PDF has too many signatures or revisions"


class TooManyVerifications(SealError):
    kind, status, title = "too-many-requests", 429, "Too many verifications from this address"

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after

    def problem(self) -> Problem:
        """The problem document, with ``Retry-After`` (RFC 9110 §10.2.3)."""
        return Problem(
            status=self.status,
            kind=self.kind,
            title=self.title,
            detail=self.detail,
            headers={"Retry-After": str(self.retry_after)},
        )


class InvalidPlacement(SealError):
    kind, status, title = "invalid-placement", 422, "The seal placement is not valid"


class PageOutOfRange(SealError):
    kind, status, title = "page-out-of-range", 422, "The page does not exist"


class AnchorNotFound(SealError):
    kind, status, title = "anchor-not-found", 422, "The anchor text is not in the document"


class FieldUnusable(SealError):
    kind, status, title = "signature-field-unusable", 422, "The signature field cannot be used"


class InvalidLevel(SealError):
    kind, status, title = "invalid-level", 422, "Unknown signature level"


class UnknownSeal(SealError):
    kind, status, title = "unknown-seal", 404, "No such seal"


class UnknownDocument(SealError):
    kind, status, title = "unknown-document", 404, "No such sealed document"


class SealNotActive(SealError):
    kind, status, title = "seal-not-active", 403, "The seal is not active"


class SealExpired(SealError):
    kind, status, title = "seal-expired", 403, "The seal is outside its validity window"


class CertificateRevoked(SealError):
    kind, status, title = "certificate-revoked", 403, "The seal certificate is not valid"


class NoGrant(SealError):
    kind, status, title = "no-grant", 403, "This client may not use this seal"


class GrantExpired(SealError):
    kind, status, title = "grant-expired", 403, "The grant for this seal has expired"


class GrantExhausted(SealError):
    kind, status, title = "grant-exhausted", 403, "The grant for this seal has no uses left"


class DocumentTypeNotGranted(SealError):
    kind, status, title = (
        "document-type-not-granted",
        403,
        "The grant does not cover this document type",
    )


class IdempotencyConflict(SealError):
    kind, status, title = "idempotency-key-in-use", 409, "The idempotency key is in use"


class IdempotencyMismatch(SealError):
    kind, status, title = (
        "idempotency-key-reused",
        422,
        "The idempotency key was used for a different request",
    )


class InvalidSealRequest(SealError):
    kind, status, title = "invalid-seal-request", 422, "The sealing request is not valid"


class SigningUnavailable(SealError):
    kind, status, title = "signing-unavailable", 503, "The seal key cannot sign now"


class NotTheOrganisationsSeal(SealError):
    kind, status, title = (
        "seal-not-of-organisation",
        403,
        "The seal is not of the organisation the person acts for",
    )
