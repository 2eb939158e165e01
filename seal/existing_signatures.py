"""Before a seal joins others: every signature already in the PDF must still hold.

A new seal endorses the document as it stands. Sealing next to a signature that no longer
verifies, or after changes our verifier does not accept, would put our seal on a tampered
document (and the verification report would then fail the whole document).
"""

from __future__ import annotations

import hashlib
from typing import Any

from pyhanko.sign.diff_analysis import DiffResult
from pyhanko.sign.validation.generic_cms import validate_sig_integrity

from seal.document import Document
from seal.errors import ExistingSignatureBroken
from seal.verification import ACCEPTED_CHANGES, CHANGES

_ACCEPTED_LEVELS = {level for level, name in CHANGES.items() if name in ACCEPTED_CHANGES}


def check_existing_signatures(document: Document) -> None:
    """Refuse (:class:`ExistingSignatureBroken`) unless every signature in ``document`` holds.

    Checked per signature (ETSI EN 319 102-1 §5.2.7 cryptographic verification, plus what
    pyHanko's difference analysis says of the revisions after it):
    - the CMS container is well-formed DER throughout, the parts no signature covers
      (certificates, unsigned attributes such as timestamps) included;
    - a signature: the digest of its /ByteRange equals the signed messageDigest and the
      signature value verifies under the certificate it names;
    - a document timestamp (/DocTimeStamp): the token's message imprint equals the digest of
      its /ByteRange and the token's own signature verifies;
    - the revisions after it change only what the verifier accepts (revocation data,
      document timestamps, form filling and further signatures: ``ACCEPTED_CHANGES``), and
      do not break a certification (DocMDP).
    Not checked here: trust in the certificates, revocation, or time — the verification
    report states all of that for every signature.
    """
    for index, signature in enumerate(_embedded_signatures(document)):
        if not _holds(signature):
            name = _field_name(signature)
            raise ExistingSignatureBroken(
                f"signature {index + 1} ({name}) no longer matches the document: the PDF was "
                "changed after it was signed, so it cannot be sealed again",
                field=name,
            )


def _holds(signature: Any) -> bool:
    try:
        signed = signature.signed_data
        signed.native  # noqa: B018 - forces the full parse of the container
        content = signed["encap_content_info"]
        content_type = content["content_type"].native
        if content_type == "tst_info":
            imprint = content["content"].parsed["message_imprint"]["hashed_message"].native
            if imprint != signature.compute_digest():
                return False
            actual = hashlib.new(signature.md_algorithm, content["content"].contents).digest()
        else:
            actual = signature.compute_digest()
        intact, valid = validate_sig_integrity(
            signature.signer_info,
            signature.signer_cert,
            expected_content_type=content_type,
            actual_digest=actual,
        )
        if not (intact and valid):
            return False
        signature.compute_integrity_info()  # coverage and the difference analysis
        summary = signature.summarise_integrity_info()
    except Exception:
        return False
    difference = summary["diff_result"]  # a DiffResult, or the suspicious modification found
    if not isinstance(difference, DiffResult):
        return False
    return summary["docmdp_ok"] is not False and difference.modification_level in _ACCEPTED_LEVELS


def _embedded_signatures(document: Document) -> list[Any]:
    try:
        return list(document.reader.embedded_signatures)
    except Exception:
        raise ExistingSignatureBroken("a signature in the PDF cannot be read") from None


def _field_name(signature: Any) -> str:
    try:
        return str(signature.field_name)
    except Exception:
        return "?"
