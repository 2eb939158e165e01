"""PKI endpoints over HTTP in both storage configurations: CA certs, CRL, OCSP, TSA, JWKS."""

from __future__ import annotations

import hashlib
import os
from typing import Any

import pytest
from asn1crypto import core, tsp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from keys.certificate_status import set_status
from keys.runtime import KeyServices
from keys.seal_certificates import issue_seal_certificate
from keys.tsa import POLICY_OID
from tests.keys.foreign import foreign_pair


@pytest.fixture
def keys(client: TestClient) -> KeyServices:
    services: KeyServices = runtime_of(client.app).get(KeyServices)
    return services


def _ca(client: TestClient, name: str) -> x509.Certificate:
    response = client.get(f"/pki/ca/{name}.crt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pkix-cert"
    return x509.load_der_x509_certificate(response.content)


def _seal(keys: KeyServices) -> x509.Certificate:
    with keys.database.transaction() as session:
        row = issue_seal_certificate(
            session,
            hierarchy=keys.hierarchy,
            owner="seal-http",
            organization="测试公司",
            uscc="91330100MA00000000",
            seal_name="测试公司合同专用章",
            actor="test",
        )
    return x509.load_der_x509_certificate(row.der)


def _revoke(keys: KeyServices, certificate: x509.Certificate, reason: str) -> None:
    with keys.database.transaction() as session:
        set_status(
            session,
            hierarchy=keys.hierarchy,
            issuer="seal",
            serial=format(certificate.serial_number, "x"),
            status="revoked",
            reason=reason,
            actor="test",
        )


def test_ca_certificates_in_der_and_pem(client: TestClient) -> None:
    root = _ca(client, "root")
    pem = client.get("/pki/ca/root.pem")
    assert pem.headers["content-type"] == "application/x-pem-file"
    assert x509.load_pem_x509_certificate(pem.content) == root
    assert "public" in pem.headers["cache-control"]


@pytest.mark.parametrize("path", ["/pki/ca/nope.crt", "/pki/crl/nope.crl"])
def test_unknown_ca_is_a_problem(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.json()["type"] == "urn:tongxing:problem:unknown-ca"


def test_wrong_extension_is_not_found(client: TestClient) -> None:
    assert client.get("/pki/ca/root.exe").status_code == 404
    assert client.get("/pki/crl/seal.pem").status_code == 404


def test_crl_is_signed_fresh_and_lists_revocations(client: TestClient, keys: KeyServices) -> None:
    seal_ca = _ca(client, "seal")
    first = x509.load_der_x509_crl(client.get("/pki/crl/seal.crl").content)
    assert first.is_signature_valid(seal_ca.public_key())  # type: ignore[arg-type]
    assert first.next_update_utc is not None and len(list(first)) == 0
    certificate = _seal(keys)
    _revoke(keys, certificate, "key_compromise")
    response = client.get("/pki/crl/seal.crl")
    assert response.headers["content-type"] == "application/pkix-crl"
    crl = x509.load_der_x509_crl(response.content)
    assert crl.is_signature_valid(seal_ca.public_key())  # type: ignore[arg-type]
    entry = crl.get_revoked_certificate_by_serial_number(certificate.serial_number)
    assert entry is not None
    assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == (
        x509.ReasonFlags.key_compromise
    )
    number = crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    assert number > first.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number


def _ocsp_request(certificate: x509.Certificate, issuer: x509.Certificate, nonce: bytes) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(certificate, issuer, hashes.SHA1())
    builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def _ask(client: TestClient, body: bytes) -> ocsp.OCSPResponse:
    response = client.post(
        "/pki/ocsp", content=body, headers={"content-type": "application/ocsp-request"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/ocsp-response"
    return ocsp.load_der_ocsp_response(response.content)


def test_ocsp_good_revoked_unknown(client: TestClient, keys: KeyServices) -> None:
    seal_ca = _ca(client, "seal")
    certificate = _seal(keys)
    nonce = os.urandom(16)
    answer = _ask(client, _ocsp_request(certificate, seal_ca, nonce))
    assert answer.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL
    assert answer.certificate_status == ocsp.OCSPCertStatus.GOOD
    assert answer.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce == nonce
    responder = answer.certificates[0]
    responder.verify_directly_issued_by(seal_ca)
    responder.public_key().verify(  # type: ignore[union-attr, call-arg]
        answer.signature, answer.tbs_response_bytes, ec.ECDSA(hashes.SHA256())
    )
    _revoke(keys, certificate, "superseded")
    revoked = _ask(client, _ocsp_request(certificate, seal_ca, os.urandom(8)))
    assert revoked.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert revoked.revocation_reason == x509.ReasonFlags.superseded
    plain = _seal(keys)
    _revoke(keys, plain, "unspecified")
    answer = _ask(client, _ocsp_request(plain, seal_ca, os.urandom(8)))
    assert answer.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert answer.revocation_reason is None  # omitted, as on the CRL
    # A serial the seal CA never issued.
    name_hash = hashlib.sha1(seal_ca.subject.public_bytes()).digest()
    key_hash = x509.SubjectKeyIdentifier.from_public_key(seal_ca.public_key()).digest
    request = (
        ocsp.OCSPRequestBuilder()
        .add_certificate_by_hash(name_hash, key_hash, 0x123456789, hashes.SHA1())
        .build()
    )
    unknown = _ask(client, request.public_bytes(serialization.Encoding.DER))
    assert unknown.certificate_status == ocsp.OCSPCertStatus.UNKNOWN


def test_ocsp_get_form(client: TestClient, keys: KeyServices) -> None:
    import base64

    seal_ca = _ca(client, "seal")
    encoded = base64.b64encode(_ocsp_request(_seal(keys), seal_ca, os.urandom(8))).decode()
    response = client.get("/pki/ocsp/" + encoded.replace("/", "%2F").replace("+", "%2B"))
    assert ocsp.load_der_ocsp_response(response.content).certificate_status == (
        ocsp.OCSPCertStatus.GOOD
    )


def test_ocsp_protocol_errors(client: TestClient, keys: KeyServices) -> None:
    assert _ask(client, b"\x30\x03garbage").response_status == (
        ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    )
    assert _ask(client, b"").response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST
    # An issuer we do not operate.
    foreign_issuer, foreign_leaf = foreign_pair()
    assert _ask(client, _ocsp_request(foreign_leaf, foreign_issuer, b"n")).response_status == (
        ocsp.OCSPResponseStatus.UNAUTHORIZED
    )
    wrong_type = client.post("/pki/ocsp", content=b"x", headers={"content-type": "text/plain"})
    assert wrong_type.status_code == 415
    assert wrong_type.json()["type"] == "urn:tongxing:problem:unsupported-media-type"
    huge = client.post(
        "/pki/ocsp", content=b"\0" * 70000, headers={"content-type": "application/ocsp-request"}
    )
    assert huge.status_code == 413


def _ts_request(**fields: Any) -> bytes:
    digest = hashlib.sha256(b"document").digest()
    request: dict[str, Any] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": 42,
        "cert_req": True,
    }
    request.update(fields)
    return bytes(tsp.TimeStampReq(request).dump())


def _stamp_der(client: TestClient, body: bytes) -> bytes:
    response = client.post(
        "/pki/tsa", content=body, headers={"content-type": "application/timestamp-query"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/timestamp-reply"
    return response.content


def _stamp(client: TestClient, body: bytes) -> tsp.TimeStampResp:
    return tsp.TimeStampResp.load(_stamp_der(client, body))


def _rejection(client: TestClient, body: bytes) -> tsp.PKIStatusInfo:
    # asn1crypto requires a token in every TimeStampResp; read the status alone.
    outer = core.Asn1Value.load(_stamp_der(client, body))
    return tsp.PKIStatusInfo.load(outer.contents)


def test_timestamp_granted(client: TestClient) -> None:
    answer = _stamp(client, _ts_request())
    assert answer["status"]["status"].native == "granted"
    signed = answer["time_stamp_token"]["content"]
    info = signed["encap_content_info"]["content"].parsed
    assert info["policy"].native == POLICY_OID
    assert info["nonce"].native == 42
    assert info["message_imprint"]["hashed_message"].native == hashlib.sha256(b"document").digest()
    assert len(signed["certificates"]) == 1
    without = _stamp(client, _ts_request(cert_req=False))["time_stamp_token"]["content"]
    assert not without["certificates"]


@pytest.mark.parametrize(
    ("fields", "failure"),
    [
        (
            {
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha1"},
                    "hashed_message": b"1" * 20,
                }
            },
            "bad_alg",
        ),
        (
            {
                "message_imprint": {
                    "hash_algorithm": {"algorithm": "sha256"},
                    "hashed_message": b"1" * 5,
                }
            },
            "bad_data_format",
        ),
        ({"req_policy": "1.2.3.4"}, "unaccepted_policy"),
    ],
)
def test_timestamp_rejections(client: TestClient, fields: dict[str, Any], failure: str) -> None:
    status = _rejection(client, _ts_request(**fields))
    assert status["status"].native == "rejection"
    assert failure in status["fail_info"].native


def test_timestamp_garbage(client: TestClient) -> None:
    assert _rejection(client, b"not a request")["fail_info"].native == {"bad_data_format"}
    assert client.post("/pki/tsa", content=b"x").status_code == 415


def test_jwks_publishes_active_and_next_with_caching(client: TestClient, keys: KeyServices) -> None:
    from keys import token_keys
    from keys.algorithms import KeyAlgorithm

    response = client.get("/jwks")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/jwk-set+json"
    assert response.headers["cache-control"] == "public, max-age=300"
    first = response.json()["keys"]
    assert len(first) == 2
    assert all(k["kty"] == "EC" and k["crv"] == "P-256" and "d" not in k for k in first)
    etag = response.headers["etag"]
    assert client.get("/jwks", headers={"if-none-match": etag}).status_code == 304
    with keys.database.transaction() as session:
        active, upcoming = token_keys.rotate(
            session,
            custody=keys.custody,
            events=keys.events,
            algorithm=KeyAlgorithm.ES256,
            actor="test",
            force=True,
        )
    after = client.get("/jwks").json()["keys"]
    assert [k["kid"] for k in after][:2] == [active, upcoming]
    assert active == first[1]["kid"]  # the published next key became the active one
    assert first[0]["kid"] in [k["kid"] for k in after]  # the retired key is still published
