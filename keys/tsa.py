"""RFC 3161 time-stamping authority: TimeStampReq in, TimeStampResp out.

Security contract: only SHA-256/384/512 imprints of the right length are stamped (SHA-1 is
refused with ``badAlg``); a requested policy other than ours gets ``unacceptedPolicy``;
request extensions get ``unacceptedExtension``; anything that does not parse gets
``badDataFormat``. Tokens carry an ESSCertIDv2 of the TSA certificate (RFC 5816) and the
request nonce; the TSA certificate is included when ``certReq`` is true (§2.4.1).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import uuid
from datetime import UTC, datetime

from asn1crypto import algos, cms, tsp
from asn1crypto import x509 as asn1_x509
from sqlalchemy.orm import Session

from core.clock import as_utc
from keys import repository
from keys.custody import CustodyError
from keys.hierarchy import Hierarchy

log = logging.getLogger("tongxing.keys.tsa")

# A policy OID we may assign ourselves: the UUID arc of ITU-T X.667 (2.25.<uuid>).
POLICY_OID = "2.25." + str(uuid.UUID("6f1c2a52-9d4e-4c58-9a0e-2b7c1f0e5a31").int)
_DIGESTS = {"sha256": 32, "sha384": 48, "sha512": 64}


def _rejection(failure: str, text: str) -> bytes:
    status = {
        "status": "rejection",
        "status_string": [text],
        "fail_info": tsp.PKIFailureInfo({failure}),
    }
    # asn1crypto marks timeStampToken as required, but RFC 3161 §2.4.2 omits it on rejection.
    return _der_sequence(bytes(tsp.PKIStatusInfo(status).dump()))


def _der_sequence(content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        header = bytes([length])
    else:
        size = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(size)]) + size
    return b"\x30" + header + content


def timestamp(session: Session, *, hierarchy: Hierarchy, request_der: bytes) -> bytes:
    """The DER TimeStampResp answering a DER TimeStampReq."""
    try:
        request = tsp.TimeStampReq.load(request_der, strict=True)
        version = request["version"].native
        imprint = request["message_imprint"]
        digest_name = imprint["hash_algorithm"]["algorithm"].native
        digest = imprint["hashed_message"].native
        policy = request["req_policy"].native
        nonce = request["nonce"].native
        want_certificate = bool(request["cert_req"].native)
        has_extensions = bool(request["extensions"].native)
    except (ValueError, TypeError, KeyError):
        return _rejection("bad_data_format", "the request is not a DER TimeStampReq")
    if version != "v1":
        return _rejection("bad_request", "only version 1 requests are supported")
    if digest_name not in _DIGESTS:
        return _rejection("bad_alg", "message imprint must be SHA-256, SHA-384 or SHA-512")
    if len(digest) != _DIGESTS[digest_name]:
        return _rejection("bad_data_format", "message imprint has the wrong length")
    if policy is not None and policy != POLICY_OID:
        return _rejection("unaccepted_policy", f"this TSA only issues under policy {POLICY_OID}")
    if has_extensions:
        return _rejection("unaccepted_extension", "request extensions are not supported")

    unit = _tsa_certificate(session)
    if unit is None:
        return _rejection("system_failure", "the time-stamping unit has no valid certificate")
    certificate_der, key_id = unit
    try:
        key = hierarchy.custody.signing_key(session, key_id)
    except CustodyError:
        log.exception("the time-stamping key is unusable")
        return _rejection("system_failure", "the time-stamping unit cannot sign now")
    certificate, signing_certificate = _unit_parts(certificate_der)

    info: dict[str, object] = {
        "version": "v1",
        "policy": POLICY_OID,
        "message_imprint": {"hash_algorithm": {"algorithm": digest_name}, "hashed_message": digest},
        "serial_number": secrets.randbits(127) | 1,
        "gen_time": datetime.now(UTC),
        "accuracy": {"seconds": 1},
        "ordering": False,
        "tsa": {"directory_name": certificate.subject},
    }
    if nonce is not None:
        info["nonce"] = nonce
    tst_info = tsp.TSTInfo(info)
    tst_der = tst_info.dump()
    signed_attributes = cms.CMSAttributes(
        [
            {"type": "content_type", "values": ["tst_info"]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_der).digest()]},
            cms.CMSAttribute.load(signing_certificate),
        ]
    )
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": {
                "issuer_and_serial_number": {
                    "issuer": certificate.issuer,
                    "serial_number": certificate.serial_number,
                }
            },
            "digest_algorithm": algos.DigestAlgorithm({"algorithm": "sha256"}),
            "signed_attrs": signed_attributes,
            "signature_algorithm": {"algorithm": key.algorithm.cms_signature_algorithm},
            "signature": key.sign(signed_attributes.dump()),
        }
    )
    signed_data: dict[str, object] = {
        "version": "v3",
        "digest_algorithms": [{"algorithm": "sha256"}],
        "encap_content_info": {"content_type": "tst_info", "content": tst_info},
        "signer_infos": [signer_info],
    }
    if want_certificate:
        signed_data["certificates"] = [certificate]
    token = cms.ContentInfo({"content_type": "signed_data", "content": cms.SignedData(signed_data)})
    response = tsp.TimeStampResp({"status": {"status": "granted"}, "time_stamp_token": token})
    return bytes(response.dump())


@functools.lru_cache(maxsize=8)
def _unit_parts(certificate_der: bytes) -> tuple[asn1_x509.Certificate, bytes]:
    """The parsed TSA certificate and its encoded ESSCertIDv2 attribute, built once per
    certificate: asn1crypto takes milliseconds to encode that attribute."""
    attribute = cms.CMSAttribute(
        {
            "type": "signing_certificate_v2",
            "values": [{"certs": [{"cert_hash": hashlib.sha256(certificate_der).digest()}]}],
        }
    )
    return asn1_x509.Certificate.load(certificate_der), bytes(attribute.dump())


def _tsa_certificate(session: Session) -> tuple[bytes, str] | None:
    now = datetime.now(UTC)
    for certificate in reversed(repository.certificates(session, kind="tsa", owner="tsa")):
        if certificate.status == "good" and as_utc(certificate.not_after) > now:
            return certificate.der, certificate.key_id
    return None
