"""CAs and certificates that are not ours, some with our very names (cryptography builders)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def foreign_pair() -> tuple[x509.Certificate, x509.Certificate]:
    """(issuer, leaf) from an unrelated CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Foreign CA")])
    now = datetime.now(UTC)
    issuer = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")]))
        .issuer_name(name)
        .public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return issuer, leaf


def look_alike(
    chain: Sequence[x509.Certificate], *, key_identifiers: bool = True
) -> tuple[list[x509.Certificate], ec.EllipticCurvePrivateKey]:
    """A copy of ``chain`` (leaf first, self-signed root last) under fresh keys: the same
    names, serial numbers, validity and extensions, so only the keys tell it apart; with
    the leaf's private key. Without ``key_identifiers`` the copies carry no subject/authority
    key identifiers, so a path builder links them to the real CAs by name alone."""
    keys = [ec.generate_private_key(ec.SECP256R1()) for _ in chain]
    copies: list[x509.Certificate] = []
    for index in reversed(range(len(chain))):
        original, key = chain[index], keys[index]
        issuer_key = keys[min(index + 1, len(chain) - 1)]
        builder = (
            x509.CertificateBuilder()
            .subject_name(original.subject)
            .issuer_name(original.issuer)
            .public_key(key.public_key())
            .serial_number(original.serial_number)
            .not_valid_before(original.not_valid_before_utc)
            .not_valid_after(original.not_valid_after_utc)
        )
        for extension in original.extensions:
            if not isinstance(
                extension.value, x509.SubjectKeyIdentifier | x509.AuthorityKeyIdentifier
            ):
                builder = builder.add_extension(extension.value, extension.critical)
        if key_identifiers:
            builder = builder.add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            ).add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                critical=False,
            )
        copies.insert(0, builder.sign(issuer_key, hashes.SHA256()))
    return copies, keys[0]
