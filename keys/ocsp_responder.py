"""RFC 6960 OCSP responder: answers for every CA through its delegated responder certificate.

Security contract: a request that does not parse gets ``malformedRequest``; one naming an
issuer we do not operate gets ``unauthorized`` (§2.3); a serial we never issued is
``unknown``. Responses are signed by the CA's responder key (certificate with
id-kp-OCSPSigning and id-pkix-ocsp-nocheck, §4.2.2.2) and echo the request nonce (§4.4.1).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from asn1crypto import ocsp
from asn1crypto import x509 as asn1_x509
from sqlalchemy.orm import Session

from core.clock import as_utc
from keys import repository
from keys.custody import CustodyError
from keys.hierarchy import CA_NAMES, Hierarchy
from keys.x509_builder import key_identifier

log = logging.getLogger("tongxing.keys.ocsp")

NEXT_UPDATE = timedelta(hours=1)
MAX_REQUESTS = 16
_HASHES = {"sha1": hashlib.sha1, "sha256": hashlib.sha256}


def _status_only(status: str) -> bytes:
    return bytes(ocsp.OCSPResponse({"response_status": status}).dump())


def _issuer_hashes(certificate_der: bytes, algorithm: str) -> tuple[bytes, bytes]:
    certificate = asn1_x509.Certificate.load(certificate_der)
    digest = _HASHES[algorithm]
    name_hash = digest(certificate.subject.dump()).digest()
    key_hash = digest(certificate.public_key["public_key"].contents[1:]).digest()
    return name_hash, key_hash


def respond(session: Session, *, hierarchy: Hierarchy, request_der: bytes) -> bytes:
    """The DER OCSPResponse to a DER OCSPRequest."""
    try:
        request = ocsp.OCSPRequest.load(request_der, strict=True)
        single_requests = request["tbs_request"]["request_list"]
        cert_ids = [single["req_cert"] for single in single_requests]
        parsed = [
            (
                cert_id["hash_algorithm"]["algorithm"].native,
                cert_id["issuer_name_hash"].native,
                cert_id["issuer_key_hash"].native,
                cert_id["serial_number"].native,
            )
            for cert_id in cert_ids
        ]
        nonce = request.nonce_value
    except (ValueError, TypeError, KeyError):
        return _status_only("malformed_request")
    if not parsed or len(parsed) > MAX_REQUESTS:
        return _status_only("malformed_request")

    ca_name = None
    for algorithm, name_hash, key_hash, _serial in parsed:
        if algorithm not in _HASHES:
            return _status_only("malformed_request")
        match = _find_ca(
            session,
            hierarchy=hierarchy,
            algorithm=algorithm,
            name_hash=name_hash,
            key_hash=key_hash,
        )
        if match is None or (ca_name is not None and match != ca_name):
            return _status_only("unauthorized")
        ca_name = match
    assert ca_name is not None

    responder = _responder(session, ca_name)
    if responder is None:
        return _status_only("try_later")
    responder_der, responder_key_id = responder
    try:
        key = hierarchy.custody.signing_key(session, responder_key_id)
    except CustodyError:
        log.exception("OCSP responder key for the %s CA is unusable", ca_name)
        return _status_only("try_later")
    now = datetime.now(UTC).replace(microsecond=0)
    responses = [
        {
            "cert_id": cert_id,
            "cert_status": _cert_status(session, ca_name=ca_name, serial=serial),
            "this_update": now,
            "next_update": now + NEXT_UPDATE,
        }
        for cert_id, (_, _, _, serial) in zip(cert_ids, parsed, strict=True)
    ]
    extensions: list[dict[str, Any]] = []
    if nonce is not None:
        extensions.append({"extn_id": "nonce", "critical": False, "extn_value": nonce.native})
    data: dict[str, Any] = {
        "version": "v1",
        "responder_id": {"by_key": key_identifier(key.public_key_der)},
        "produced_at": now,
        "responses": responses,
    }
    if extensions:
        data["response_extensions"] = extensions
    response_data = ocsp.ResponseData(data)
    algorithm_id = {"algorithm": key.algorithm.x509_signature_algorithm}
    basic = ocsp.BasicOCSPResponse(
        {
            "tbs_response_data": response_data,
            "signature_algorithm": algorithm_id,
            "signature": key.sign(response_data.dump()),
            "certs": [asn1_x509.Certificate.load(responder_der)],
        }
    )
    response = ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    )
    return bytes(response.dump())


def _find_ca(
    session: Session, *, hierarchy: Hierarchy, algorithm: str, name_hash: bytes, key_hash: bytes
) -> str | None:
    for name in CA_NAMES:
        if repository.ca(session, name) is None:
            continue
        certificate = hierarchy.ca_certificate(session, name)
        if _issuer_hashes(certificate.der, algorithm) == (name_hash, key_hash):
            return name
    return None


def _responder(session: Session, ca_name: str) -> tuple[bytes, str] | None:
    now = datetime.now(UTC)
    for certificate in reversed(repository.certificates(session, kind="ocsp", owner=ca_name)):
        if certificate.status == "good" and as_utc(certificate.not_after) > now:
            return certificate.der, certificate.key_id
    return None


def _cert_status(session: Session, *, ca_name: str, serial: int) -> Any:
    certificate = repository.certificate_by_serial(
        session, issuer=ca_name, serial=format(serial, "x")
    )
    if certificate is None:
        return {"unknown": None}
    if certificate.status == "good":
        return {"good": None}
    revoked_at = as_utc(certificate.revoked_at or datetime.now(UTC)).replace(microsecond=0)
    info: dict[str, Any] = {"revocation_time": revoked_at}
    if certificate.revocation_reason not in (None, "unspecified"):
        # As on the CRL: the reason is omitted rather than given as unspecified.
        info["revocation_reason"] = certificate.revocation_reason
    return {"revoked": info}
