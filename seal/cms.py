"""The CMS SignedData of a PAdES B-B/B-T seal (ETSI EN 319 122-1 §5, RFC 5652 §5), assembled
from DER parts computed once per seal certificate.

Why: building the SignedData with asn1crypto object trees costs ~10 ms per seal, almost all
of it re-serialising parts that are the same for every document sealed with one
certificate (certificates, signer identifier, algorithms, the ESS signing-certificate-v2
attribute). Only the message digest, the signature value and the timestamp token change, so
they are the only parts encoded per seal. The result is the structure pyHanko itself
produces for a PAdES signature (same three signed attributes), and every sealed document in
the test suite is checked by pyHanko's validator.

Security contract: the signed attributes are DER (SET OF sorted by encoding, X.690 §11.6),
so what is signed is exactly what a verifier re-encodes; the signing key only ever sees the
DER of the signed attributes (it hashes them with SHA-256 itself).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509

from keys.algorithms import KeyAlgorithm
from keys.stores import SigningKey

_SIGNED_DATA = core.ObjectIdentifier("1.2.840.113549.1.7.2").dump()
_DATA = core.ObjectIdentifier("1.2.840.113549.1.7.1").dump()
_MESSAGE_DIGEST = core.ObjectIdentifier("1.2.840.113549.1.9.4").dump()
_TIMESTAMP_TOKEN = core.ObjectIdentifier("1.2.840.113549.1.9.16.2.14").dump()


def _length(size: int) -> bytes:
    if size < 0x80:
        return bytes([size])
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(encoded)]) + encoded


def tlv(tag: int, *parts: bytes) -> bytes:
    """One DER element: ``tag``, definite length, the concatenated ``parts``."""
    content = b"".join(parts)
    return bytes([tag]) + _length(len(content)) + content


def _set_of(elements: list[bytes]) -> bytes:
    return b"".join(sorted(elements))  # DER: SET OF sorted by encoding


class SignedDataTemplate:
    """The constant DER of one seal certificate's signatures."""

    def __init__(
        self, *, key: SigningKey, certificate: asn1_x509.Certificate, chain: list[bytes]
    ) -> None:
        self.key = key
        mechanism = "sha256_ecdsa" if key.algorithm is KeyAlgorithm.ES256 else "sha256_rsa"
        self._digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"}).dump()
        self._signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": mechanism}).dump()
        self._sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value=cms.IssuerAndSerialNumber(
                {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
            ),
        ).dump()
        self._content_type = cms.CMSAttribute({"type": "content_type", "values": ["data"]}).dump()
        ess = tsp.SigningCertificateV2(
            {
                "certs": [
                    {
                        "cert_hash": hashlib.sha256(certificate.dump()).digest(),
                        "issuer_serial": {
                            "issuer": [asn1_x509.GeneralName("directory_name", certificate.issuer)],
                            "serial_number": certificate.serial_number,
                        },
                    }
                ]
            }
        )
        self._signing_certificate = cms.CMSAttribute(
            {"type": "signing_certificate_v2", "values": [ess]}
        ).dump()
        self._certificates = tlv(0xA0, certificate.dump(), *chain)  # [0] IMPLICIT SET OF

    def signed_attributes(self, document_digest: bytes) -> bytes:
        """The DER ``SET OF Attribute`` that is signed (RFC 5652 §5.4)."""
        digest = tlv(0x30, _MESSAGE_DIGEST, tlv(0x31, tlv(0x04, document_digest)))
        return tlv(0x31, _set_of([self._content_type, digest, self._signing_certificate]))

    def content_info(
        self,
        document_digest: bytes,
        *,
        timestamp: Callable[[bytes], bytes] | None = None,
    ) -> bytes:
        """The DER ContentInfo: sign, and with ``timestamp`` (signature value in, DER
        TimeStampToken out) add the signature timestamp as an unsigned attribute (B-T)."""
        attributes = self.signed_attributes(document_digest)
        signature = self.key.sign(attributes)
        unsigned = b""
        if timestamp is not None:
            token = timestamp(signature)
            unsigned = tlv(0xA1, tlv(0x30, _TIMESTAMP_TOKEN, tlv(0x31, token)))
        signer_info = tlv(
            0x30,
            tlv(0x02, b"\x01"),  # version 1: issuerAndSerialNumber
            self._sid,
            self._digest_algorithm,
            b"\xa0" + attributes[1:],  # [0] IMPLICIT: same content, context tag
            self._signature_algorithm,
            tlv(0x04, signature),
            unsigned,
        )
        signed_data = tlv(
            0x30,
            tlv(0x02, b"\x01"),
            tlv(0x31, self._digest_algorithm),
            tlv(0x30, _DATA),  # detached: no eContent
            self._certificates,
            tlv(0x31, signer_info),
        )
        return tlv(0x30, _SIGNED_DATA, tlv(0xA0, signed_data))
