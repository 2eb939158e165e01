"""Verifying sealed PDFs: one report per signature in the spirit of EU DSS's simple report
(ETSI EN 319 102-1 indications and sub-indications), in plain data.

Security contract: integrity, signature, chain to *the given* trust root, revocation (from
the given CRLs or the document's DSS; never fetched unless the caller allows it), the
timestamp, and changes after sealing are all checked by pyHanko's validator; this module
only maps its findings to indications. Our policy, decided deliberately:
- revocation is asked about only for a chain that reaches a trust anchor by valid
  signatures (checked first, offline, without revocation); a seal certificate issued under
  any other root, even one with our names, is INDETERMINATE/NO_CERTIFICATE_CHAIN_FOUND
  (ETSI EN 319 102-1 §5.2.6) and its revocation status is "not_checked", never "unknown";
- a revoked seal certificate fails the signature (TOTAL_FAILED/REVOKED), whenever it was
  revoked: a withdrawn seal must not keep vouching for documents; the report still says
  whether the timestamp proves the sealing came first;
- a certificate on hold (seal suspended) is INDETERMINATE/TRY_LATER;
- after sealing, only revocation data, document timestamps and form filling are accepted
  (the first seal certifies the document with DocMDP P=2); annotations and anything else
  fail the signature (TOTAL_FAILED/FORMAT_FAILURE), with the kind of change reported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    InvalidCertificateError,
    PathBuildingError,
    PathValidationError,
)
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

from seal.changes import only_comments_added
from seal.document import read_pdf
from seal.errors import MalformedPdf, PdfTooComplex
from seal.pades import run

MAX_SIGNATURES, MAX_REVISIONS = 20, 100
PASSED, INDETERMINATE, FAILED = "TOTAL_PASSED", "INDETERMINATE", "TOTAL_FAILED"
_SEVERITY = {PASSED: 0, INDETERMINATE: 1, FAILED: 2}

CHANGES = {
    ModificationLevel.NONE: "none",
    ModificationLevel.LTA_UPDATES: "revocation_data",
    ModificationLevel.FORM_FILLING: "form_filling",
    ModificationLevel.ANNOTATIONS: "annotations",
    ModificationLevel.OTHER: "other",
}
ACCEPTED_CHANGES = {"none", "revocation_data", "form_filling"}

# (indication, sub-indication) -> (zh-CN, en) one-line explanation for people.
EXPLANATIONS = {
    (PASSED, None): (
        "印章有效：文件自盖章后未被篡改，印章证书可信。",
        "The seal is valid: the document is unchanged since sealing and the "
        "seal certificate is trusted.",
    ),
    (FAILED, "HASH_FAILURE"): (
        "文件在盖章后被篡改（内容与签名不符）。",
        "The document was altered after sealing (its bytes no longer match the signature).",
    ),
    (FAILED, "SIG_CRYPTO_FAILURE"): ("签名值无效。", "The signature value is not valid."),
    (FAILED, "REVOKED"): ("印章证书已被吊销。", "The seal certificate has been revoked."),
    (FAILED, "FORMAT_FAILURE"): (
        "文件在盖章后被修改（不允许的修改）。",
        "The document was modified after sealing in a way that is not allowed.",
    ),
    (INDETERMINATE, "TRY_LATER"): (
        "暂时无法确认印章证书状态（证书被暂停或缺少吊销信息）。",
        "The seal certificate's status cannot be confirmed now (suspended, or no revocation data).",
    ),
    (INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"): (
        "签章证书不是由受信任的机构签发，无法确认是谁盖的章。",
        "The seal certificate was not issued by a trusted authority, so who sealed the "
        "document cannot be confirmed.",
    ),
}

GENERIC = {
    PASSED: EXPLANATIONS[(PASSED, None)],
    INDETERMINATE: (
        "无法确认印章是否有效（技术原因见技术结论）。",
        "Whether the seal is valid cannot be established (the technical result says why).",
    ),
    FAILED: (
        "印章无效（技术原因见技术结论）。",
        "The seal is not valid (the technical result says why).",
    ),
}
EXPLANATIONS[(INDETERMINATE, "NO_POE")] = (
    "时间戳不可信，无法证明盖章时间。",
    "The timestamp is not trusted, so the time of sealing cannot be proven.",
)


@dataclass
class RegistryRecord:
    """What our own records say about a sealing (server-side verification only)."""

    document_id: str
    seal: dict[str, Any]
    sealed_at: str
    audit: dict[str, Any]


Lookup = Callable[[str], RegistryRecord | None]


def _name(name: asn1_x509.Name) -> dict[str, str]:
    wanted = {
        "common_name": "cn",
        "organization_name": "o",
        "organization_identifier": "organization_identifier",
        "country_name": "c",
    }
    native = name.native
    return {short: str(native[long]) for long, short in wanted.items() if long in native}


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def verify_pdf(
    data: bytes,
    *,
    context: Callable[[PdfFileReader, datetime | None], ValidationContext],
    anchors: Sequence[asn1_x509.Certificate],
    intermediates: Sequence[asn1_x509.Certificate] = (),
    max_bytes: int,
    lookup: Lookup | None = None,
) -> dict[str, Any]:
    """The verification report of ``data``. ``anchors`` are the trust roots (those of
    ``context``) and ``intermediates`` the CA certificates known besides the document's own;
    ``context`` gives the validation context for a signature whose chain reaches an anchor
    (trust root, revocation sources), and is not even built otherwise; ``lookup`` finds our
    record of a sealing by signed digest (omitted offline)."""
    reader = read_pdf(data, max_bytes=max_bytes)
    try:
        signatures = list(reader.embedded_regular_signatures)
        timestamps = list(reader.embedded_timestamp_signatures)
        has_dss = "/DSS" in reader.root
        revisions = reader.xrefs.total_revisions
    except Exception as exc:
        raise MalformedPdf(f"the signatures cannot be read: {str(exc)[:200]}") from None
    if len(signatures) + len(timestamps) > MAX_SIGNATURES or revisions > MAX_REVISIONS:
        # Each signature costs a full hash and a change analysis of the file: bound the
        # work an anonymous upload can ask for.
        raise PdfTooComplex(
            f"at most {MAX_SIGNATURES} signatures and {MAX_REVISIONS} revisions are verified"
        )
    reports = []
    for signature in signatures:

        def verify_at(moment: datetime | None, signature: Any = signature) -> dict[str, Any]:
            found = reaches_anchor(
                signature, context=chain_context(anchors, intermediates, moment=moment)
            )
            # An untrusted chain is judged without revocation: nothing is fetched or
            # consulted for certificates no anchor vouches for.
            validation_context = (
                context(reader, moment)
                if found
                else chain_context(anchors, intermediates, moment=moment)
            )
            try:
                return _verify_one(
                    signature,
                    context=validation_context,
                    chain_found=found,
                    lookup=lookup,
                    has_dss=has_dss,
                    document_timestamps=len(timestamps),
                )
            finally:  # close HTTP sessions a fetching context opened
                run(validation_context.aclose())

        moment = timestamp_time(signature)
        report = verify_at(moment)
        if moment is not None and not _proved(report, moment):
            # The moment must be the time of the timestamp the validator trusted, and of
            # nothing else; if it is not, the judgement made at it does not count.
            report = verify_at(None)
        reports.append(report)
    overall = (
        max((r["indication"] for r in reports), key=_SEVERITY.__getitem__)
        if reports
        else INDETERMINATE
    )
    return {
        "indication": overall,
        "document": {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "signatures": len(reports),
            "document_timestamps": len(timestamps),
        },
        "signatures": reports,
        **(
            {}
            if reports
            else {
                "sub_indication": "SIGNED_DATA_NOT_FOUND",
                "explanation": {
                    "zh-CN": "这个 PDF 文件中没有电子印章，无从验证。请确认上传的是盖章后的文件。",
                    "en": "This PDF carries no electronic seal, so there is nothing to verify. "
                    "Please check that you uploaded the sealed document.",
                },
            }
        ),
    }


def timestamp_time(signature: Any) -> datetime | None:
    """The time of the signature's timestamp, as a candidate moment to validate at: only when
    the signature carries exactly one timestamp token and that token's imprint is the
    SHA-256 of this signature value (ETSI EN 319 122-1 §5.3). The token's own signature is
    checked by the validator afterwards (see ``_proved``)."""
    try:
        tokens = [
            value
            for attribute in signature.signer_info["unsigned_attrs"] or ()
            if attribute["type"].native == "signature_time_stamp_token"
            for value in attribute["values"]
        ]
        if len(tokens) != 1:
            return None
        info = tokens[0]["content"]["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]
        value = signature.signer_info["signature"].native
        if imprint["hash_algorithm"]["algorithm"].native != "sha256" or (
            imprint["hashed_message"].native != hashlib.sha256(value).digest()
        ):
            return None
        found: datetime = info["gen_time"].native
        return found
    except (KeyError, ValueError, TypeError, IndexError, AttributeError):
        return None


def chain_context(
    anchors: Sequence[asn1_x509.Certificate],
    intermediates: Sequence[asn1_x509.Certificate] = (),
    *,
    moment: datetime | None,
) -> ValidationContext:
    """A context that trusts ``anchors`` and asks nothing about revocation, fetches nothing:
    for checking a chain alone, and for judging a signature whose chain reaches no anchor."""
    return ValidationContext(
        trust_roots=list(anchors),
        other_certs=list(intermediates),
        moment=moment,
        allow_fetching=False,
        revinfo_policy=CertRevTrustPolicy(
            RevocationCheckingPolicy(
                ee_certificate_rule=RevocationCheckingRule.NO_CHECK,
                intermediate_ca_cert_rule=RevocationCheckingRule.NO_CHECK,
            )
        ),
    )


def reaches_anchor(signature: Any, *, context: ValidationContext) -> bool:
    """Whether the signer's certificate chains to an anchor of ``context`` by valid
    signatures (RFC 5280 §6.1, with the certificates the signature carries). False when no
    path to an anchor exists, when the leaf is self-signed, or when a certificate on every
    path fails its issuer's signature (same names, other keys: a look-alike PKI or another
    installation). Other path failures (expiry, constraints) are those of a chain that does
    reach an anchor: True, and the full validation reports them."""
    validator = CertificateValidator(
        signature.signer_cert,
        intermediate_certs=signature.other_embedded_certs,
        validation_context=context,
    )
    try:
        run(validator.async_validate_path())
    except (PathBuildingError, InvalidCertificateError):
        return False
    except PathValidationError as exc:
        # pyhanko_certvalidator raises this very class (no subclass) for a signature that
        # does not verify under the issuer's key; subclasses are expiry, revocation, ...
        return not (type(exc) is PathValidationError and "could not be verified" in str(exc))
    return True


def _proved(report: dict[str, Any], moment: datetime) -> bool:
    """Whether the validator trusted a timestamp of exactly ``moment``."""
    timestamp = report.get("timestamp")
    return bool(timestamp and timestamp.get("trusted") and timestamp.get("time") == _iso(moment))


def _verify_one(
    signature: Any,
    *,
    context: ValidationContext,
    chain_found: bool,
    lookup: Lookup | None,
    has_dss: bool,
    document_timestamps: int,
) -> dict[str, Any]:
    try:
        status: PdfSignatureStatus = run(
            async_validate_pdf_signature(
                signature,
                signer_validation_context=context,
                key_usage_settings=KeyUsageConstraints(key_usage={"non_repudiation"}),
            )
        )
    except Exception as exc:
        return {
            "field": signature.field_name,
            "indication": FAILED,
            "sub_indication": "FORMAT_FAILURE",
            "explanation": {
                "zh-CN": "签名结构无法解析。",
                "en": f"The signature cannot be parsed: {str(exc)[:200]}",
            },
        }
    changes = (
        CHANGES.get(status.modification_level, "other") if status.modification_level else "other"
    )
    if changes == "other" and only_comments_added(
        signature.reader, signed_revision=signature.signed_revision
    ):
        changes = "annotations"
    revocation: dict[str, Any] = _revocation(status) if chain_found else {"status": "not_checked"}
    timestamp = status.timestamp_validity
    ts_time = timestamp.timestamp if timestamp is not None else None
    indication, sub = _indicate(
        status, changes=changes, revocation=revocation, chain_found=chain_found
    )
    zh, en = EXPLANATIONS.get((indication, sub)) or GENERIC[indication]
    if indication == FAILED and sub == "FORMAT_FAILURE":
        zh += f"（修改类型：{changes}）"
        en += f" (kind of change: {changes})"
    if revocation["status"] == "revoked" and ts_time and revocation.get("revoked_at"):
        # Revocation times are whole seconds: within the same second the order is unknown.
        sealed, revoked = str(_iso(ts_time)), revocation["revoked_at"]
        revocation["sealed_before_revocation"] = None if sealed == revoked else sealed < revoked
    certificate = status.signing_cert
    digest = signature.compute_digest().hex() if status.intact else None
    record = lookup(digest) if (lookup and digest) else None
    level = "B-B"
    if timestamp is not None:
        level = "B-T"
        if has_dss:
            level = "B-LTA" if document_timestamps else "B-LT"
    return {
        "field": signature.field_name,
        "indication": indication,
        "sub_indication": sub,
        "explanation": {"zh-CN": zh, "en": en},
        "level": level,
        "seal": record.seal if record else None,
        "signer": {
            "subject": _name(certificate.subject),
            "issuer": _name(certificate.issuer),
            "serial": format(certificate.serial_number, "x"),
            "not_before": _iso(certificate.not_valid_before),
            "not_after": _iso(certificate.not_valid_after),
        },
        "chain": [
            _name(c.subject)
            for c in (
                status.validation_path.iter_certs(include_root=True)
                if status.validation_path
                else []
            )
        ],
        "trusted": status.trusted,
        "signing_time": _iso(status.signer_reported_dt),
        "timestamp": (
            {
                "time": _iso(ts_time),
                "trusted": timestamp.trusted,
                "tsa": _name(timestamp.signing_cert.subject),
            }
            if timestamp is not None
            else None
        ),
        "revocation": revocation,
        "integrity": {
            "intact": status.intact,
            "valid": status.valid,
            "coverage": _coverage(status.coverage),
            "signed_digest": digest,
        },
        "changes_after_sealing": changes,
        "docmdp_ok": status.docmdp_ok,
        "audit_log": record.audit if record else {"recorded": False if lookup else None},
        "document_id": record.document_id if record else None,
        "sealed_at": record.sealed_at if record else None,
    }


def _coverage(level: SignatureCoverageLevel | None) -> str | None:
    return level.name.lower() if level is not None else None


def _revocation(status: PdfSignatureStatus) -> dict[str, Any]:
    details = status.revocation_details
    if details is not None:
        reason = details.revocation_reason.native
        return {
            "status": "on_hold" if reason == "certificate_hold" else "revoked",
            "revoked_at": _iso(details.revocation_date),
            "reason": reason,
        }
    problem = status.trust_problem_indic
    if problem is not None and getattr(problem, "name", "") in ("TRY_LATER", "REVOKED_NO_POE"):
        return {"status": "unknown"}
    return {"status": "good" if status.trusted else "unknown"}


def _indicate(
    status: PdfSignatureStatus, *, changes: str, revocation: dict[str, Any], chain_found: bool
) -> tuple[str, str | None]:
    if not status.intact:
        return FAILED, "HASH_FAILURE"
    if not status.valid:
        return FAILED, "SIG_CRYPTO_FAILURE"
    if revocation["status"] == "revoked":
        return FAILED, "REVOKED"
    if changes not in ACCEPTED_CHANGES or status.docmdp_ok is False:
        return FAILED, "FORMAT_FAILURE"
    if not chain_found:
        return INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND"
    if revocation["status"] in ("on_hold", "unknown"):
        return INDETERMINATE, "TRY_LATER"
    problem = status.trust_problem_indic
    if problem is not None or not status.trusted:
        name = getattr(problem, "name", "NO_CERTIFICATE_CHAIN_FOUND")
        return (
            FAILED if problem is not None and problem.status.name == "FAILED" else INDETERMINATE
        ), name
    timestamp = status.timestamp_validity
    if timestamp is not None and not timestamp.trusted:
        # The timestamp cannot serve as proof of existence (ETSI EN 319 102-1 NO_POE).
        return INDETERMINATE, "NO_POE"
    return PASSED, None


def document_context(
    reader: PdfFileReader,
    moment: datetime | None,
    *,
    anchor: asn1_x509.Certificate,
    online: bool,
) -> ValidationContext:
    """What an offline verifier trusts: ``anchor``, and the revocation data the document
    carries in its DSS (none for B-B/B-T: their status is then unknown, not assumed good),
    or, ``online``, whatever the certificates' CRL/OCSP addresses answer now.

    Offline, a B-LT/B-LTA document is validated at ``moment`` (its signature timestamp)
    accepting CRLs issued just after it: its own revocation data speaks for that time, so
    the document stays verifiable after those CRLs expire. Only a trusted timestamp passes
    (an untrusted one makes the report INDETERMINATE), and a revocation after that moment is
    only seen ``online``.
    """
    from pyhanko.sign.validation.dss import DocumentSecurityStore

    settings: dict[str, Any] = {
        "trust_roots": [anchor],
        "allow_fetching": online,
        "revocation_mode": "hard-fail",
    }
    if moment is not None and not online:
        settings.update(moment=moment, retroactive_revinfo=True)
    try:
        dss = DocumentSecurityStore.read_dss(reader)
    except Exception:  # no DSS (B-B/B-T) or an unreadable one: nothing embedded to use
        if not online:  # empty, not absent: "no revocation data", so status is unknown
            settings.update(crls=[], ocsps=[])
        return ValidationContext(**settings)
    return dss.as_validation_context(settings)
