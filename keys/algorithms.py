"""Signature algorithms a managed key can have, with their X.509, CMS and JWS names.

ECDSA P-256 is the default; RSA-3072 (PKCS#1 v1.5 with SHA-256, the form every X.509 and
OpenSSL consumer accepts) is available per key.
"""

from __future__ import annotations

from enum import StrEnum

from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature


class KeyAlgorithm(StrEnum):
    """A key type together with the signature scheme used with it."""

    ES256 = "ES256"  # ECDSA on P-256 with SHA-256
    RS256 = "RS256"  # RSA-3072, PKCS#1 v1.5 with SHA-256

    @property
    def x509_signature_algorithm(self) -> str:
        """The asn1crypto name of the signatureAlgorithm for certificates, CRLs, OCSP, CMS."""
        return "sha256_ecdsa" if self is KeyAlgorithm.ES256 else "sha256_rsa"

    @property
    def cms_signature_algorithm(self) -> str:
        """The asn1crypto name of the CMS SignerInfo signature algorithm."""
        return "sha256_ecdsa" if self is KeyAlgorithm.ES256 else "rsassa_pkcs1v15"

    @property
    def description(self) -> str:
        """Human name for listings."""
        return "ECDSA P-256" if self is KeyAlgorithm.ES256 else "RSA-3072"


RSA_BITS = 3072


def jws_signature(algorithm: KeyAlgorithm, der_signature: bytes) -> bytes:
    """Convert a signature as produced by a key store to its JWS form (RFC 7518 §3.4)."""
    if algorithm is KeyAlgorithm.ES256:
        r, s = decode_dss_signature(der_signature)
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return der_signature
