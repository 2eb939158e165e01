"""Certificate revocation lists (RFC 5280 §5) for each CA, kept fresh and cheap.

Security contract: a CRL lists every revoked or suspended, unexpired certificate of its CA
with its reason (omitted when unspecified), carries an increasing CRL number and a
nextUpdate; it is signed only by the CA's own key.

A CA's CRL is re-signed when it is older than ``REFRESH`` or when a certificate of that CA
changed status (``certificate_status.set_status`` marks it stale), so a revocation is on the CRL at
the next fetch. While the
CA key is offline (the root, normally), the last CRL is served until its nextUpdate.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from asn1crypto import crl as asn1_crl
from sqlalchemy.orm import Session

from core.clock import as_utc
from keys import repository
from keys.hierarchy import Hierarchy, HierarchyError
from keys.models import CertificateAuthority

REFRESH = timedelta(minutes=5)
VALIDITY = timedelta(days=1)
OFFLINE_VALIDITY = timedelta(days=365)


def _key_offline(session: Session, ca: CertificateAuthority) -> bool:
    key = repository.key(session, ca.key_id)
    return key is None or key.reference is None


def current_crl(session: Session, *, hierarchy: Hierarchy, ca_name: str) -> tuple[bytes, datetime]:
    """The DER CRL of ``ca_name`` and its nextUpdate."""
    ca = repository.ca(session, ca_name)
    if ca is None:
        raise HierarchyError(f"unknown CA {ca_name!r}")
    now = datetime.now(UTC)
    offline = _key_offline(session, ca)
    if ca.last_crl and ca.last_crl_next_update:
        next_update = as_utc(ca.last_crl_next_update)
        fresh = not ca.crl_stale and next_update - VALIDITY + REFRESH > now
        if fresh or offline:
            return ca.last_crl, next_update
    if offline:
        raise HierarchyError(f"the {ca_name} CA key is offline and no CRL was issued before")
    der, next_update = issue_crl(session, hierarchy=hierarchy, ca_name=ca_name, validity=VALIDITY)
    return der, next_update


def issue_crl(
    session: Session, *, hierarchy: Hierarchy, ca_name: str, validity: timedelta
) -> tuple[bytes, datetime]:
    """Sign a new CRL for ``ca_name`` valid for ``validity`` and remember it."""
    issuer = hierarchy.issuer(session, ca_name)
    now = datetime.now(UTC).replace(microsecond=0)
    next_update = now + validity
    number = repository.next_crl_number(session, ca_name)
    revoked = []
    for certificate in repository.unexpired_revocations(session, issuer=ca_name, now=now):
        entry: dict[str, object] = {
            "user_certificate": int(certificate.serial, 16),
            "revocation_date": {
                "utc_time": as_utc(certificate.revoked_at or now).replace(microsecond=0)
            },
        }
        reason = certificate.revocation_reason or "unspecified"
        if reason != "unspecified":  # RFC 5280 §5.3.1: omit rather than use unspecified
            entry["crl_entry_extensions"] = [{"extn_id": "crl_reason", "extn_value": reason}]
        revoked.append(entry)
    algorithm = {"algorithm": issuer.key.algorithm.x509_signature_algorithm}
    fields: dict[str, object] = {
        "version": "v2",
        "signature": algorithm,
        "issuer": issuer.name,
        "this_update": {"utc_time": now},
        "next_update": {"utc_time": next_update},
        "crl_extensions": [
            {"extn_id": "crl_number", "extn_value": number},
            {
                "extn_id": "authority_key_identifier",
                "extn_value": {"key_identifier": issuer.key_id},
            },
        ],
    }
    if revoked:  # an empty list would encode as an empty SEQUENCE, which RFC 5280 forbids
        fields["revoked_certificates"] = revoked
    tbs = asn1_crl.TbsCertList(fields)
    certificate_list = asn1_crl.CertificateList(
        {
            "tbs_cert_list": tbs,
            "signature_algorithm": algorithm,
            "signature": issuer.key.sign(tbs.dump()),
        }
    )
    der = certificate_list.dump()
    ca = repository.ca(session, ca_name)
    assert ca is not None
    ca.last_crl, ca.last_crl_next_update, ca.crl_stale = der, next_update, False
    return der, next_update
