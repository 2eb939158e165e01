"""Builds and signs X.509 certificates with asn1crypto, signing through a :class:`SigningKey`.

``cryptography``'s builders need the private key object in process; building the
TBSCertificate here lets a key in an HSM sign just the same (RFC 5280 §4.1).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509

from keys.stores import SigningKey


def random_serial() -> int:
    """A positive serial of 159 random bits (RFC 5280 §4.1.2.2: at most 20 octets)."""
    return secrets.randbits(159) | (1 << 158)


def key_identifier(public_key_der: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING."""
    info = asn1_keys.PublicKeyInfo.load(public_key_der)
    return hashlib.sha1(info["public_key"].contents[1:]).digest()  # noqa: S324 - identifier only


@dataclass(frozen=True)
class Issuer:
    """The signing side of a certificate: its name, its key and its key identifier."""

    name: x509.Name
    key: SigningKey

    @property
    def key_id(self) -> bytes:
        return key_identifier(self.key.public_key_der)


@dataclass(frozen=True)
class Endpoints:
    """Where relying parties fetch the issuer certificate, the CRL and OCSP answers."""

    ca_issuers_url: str
    crl_url: str
    ocsp_url: str


def build_name(
    *, common_name: str, organization: str, organization_identifier: str | None = None
) -> x509.Name:
    """A subject/issuer name: C=CN, O, CN and (for legal persons) organizationIdentifier."""
    attributes: dict[str, str] = {
        "country_name": "CN",
        "organization_name": organization,
        "common_name": common_name,
    }
    if organization_identifier:
        attributes["organization_identifier"] = organization_identifier
    return x509.Name.build(attributes, use_printable=False)


def sign_certificate(
    *,
    issuer: Issuer,
    subject: x509.Name,
    subject_public_key_der: bytes,
    serial: int,
    not_before: datetime,
    not_after: datetime,
    extensions: list[dict[str, Any]],
) -> x509.Certificate:
    """Assemble the TBSCertificate, have the issuer key sign it, return the certificate."""
    algorithm = {"algorithm": issuer.key.algorithm.x509_signature_algorithm}
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": serial,
            "signature": algorithm,
            "issuer": issuer.name,
            "validity": {"not_before": _time(not_before), "not_after": _time(not_after)},
            "subject": subject,
            "subject_public_key_info": asn1_keys.PublicKeyInfo.load(subject_public_key_der),
            "extensions": [
                {
                    "extn_id": "key_identifier",
                    "critical": False,
                    "extn_value": key_identifier(subject_public_key_der),
                },
                {
                    "extn_id": "authority_key_identifier",
                    "critical": False,
                    "extn_value": {"key_identifier": issuer.key_id},
                },
                *extensions,
            ],
        }
    )
    signature = issuer.key.sign(tbs.dump())
    return x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )


def _time(moment: datetime) -> dict[str, datetime]:
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime (no fractions) from 2050.
    moment = moment.replace(microsecond=0)
    return {"utc_time": moment} if moment.year < 2050 else {"general_time": moment}


def ca_extensions(*, path_length: int | None, endpoints: Endpoints | None) -> list[dict[str, Any]]:
    """A CA certificate: basicConstraints CA (critical), keyCertSign + cRLSign (critical)."""
    constraints: dict[str, Any] = {"ca": True}
    if path_length is not None:
        constraints["path_len_constraint"] = path_length
    extensions: list[dict[str, Any]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": constraints},
        {
            "extn_id": "key_usage",
            "critical": True,
            "extn_value": {"key_cert_sign", "crl_sign", "digital_signature"},
        },
    ]
    if endpoints:
        extensions += _revocation_pointers(endpoints)
    return extensions


def end_entity_extensions(
    *,
    key_usage: set[str],
    extended_key_usage: list[str] | None,
    endpoints: Endpoints,
    ocsp_no_check: bool = False,
    revocation_pointers: bool = True,
) -> list[dict[str, Any]]:
    """An end-entity certificate with the given (critical) key usage and EKU."""
    extensions: list[dict[str, Any]] = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
        {"extn_id": "key_usage", "critical": True, "extn_value": key_usage},
    ]
    if extended_key_usage:
        extensions.append(
            {"extn_id": "extended_key_usage", "critical": True, "extn_value": extended_key_usage}
        )
    if ocsp_no_check:
        extensions.append({"extn_id": "ocsp_no_check", "critical": False, "extn_value": None})
    if revocation_pointers:
        extensions += _revocation_pointers(endpoints)
    else:
        extensions.append(_aia(endpoints, with_ocsp=False))
    return extensions


def _uri(url: str) -> x509.GeneralName:
    # A CHOICE inside a SEQUENCE OF must be built explicitly in asn1crypto.
    return x509.GeneralName(name="uniform_resource_identifier", value=url)


def _aia(endpoints: Endpoints, *, with_ocsp: bool) -> dict[str, Any]:
    access = [
        {
            "access_method": "ca_issuers",
            "access_location": _uri(endpoints.ca_issuers_url),
        },
    ]
    if with_ocsp:
        access.insert(
            0,
            {
                "access_method": "ocsp",
                "access_location": _uri(endpoints.ocsp_url),
            },
        )
    return {"extn_id": "authority_information_access", "critical": False, "extn_value": access}


def _revocation_pointers(endpoints: Endpoints) -> list[dict[str, Any]]:
    return [
        {
            "extn_id": "crl_distribution_points",
            "critical": False,
            "extn_value": [{"distribution_point": {"full_name": [_uri(endpoints.crl_url)]}}],
        },
        _aia(endpoints, with_ocsp=True),
    ]
