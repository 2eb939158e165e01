"""End-entity seal certificates for the seals of legal persons, issued by the seal CA.

Security contract: a renewal that keeps the key is refused when any certificate of that key
was revoked for key compromise; the subject always names the organisation and its unified
social credit code (ETSI EN 319 412-1 §5.1.4 semantics identifier ``NTRCN-<code>``).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from keys import repository
from keys.algorithms import KeyAlgorithm
from keys.hierarchy import SEAL_CA, Hierarchy, HierarchyError
from keys.models import IssuedCertificate
from keys.x509_builder import build_name, end_entity_extensions

SEAL_DAYS = 2 * 365


def issue_seal_certificate(
    session: Session,
    *,
    hierarchy: Hierarchy,
    owner: str,
    organization: str,
    uscc: str,
    seal_name: str,
    actor: str,
    algorithm: KeyAlgorithm | None = None,
    reuse_key_id: str | None = None,
    days: int = SEAL_DAYS,
) -> IssuedCertificate:
    """A certificate for seal ``owner``: a new key, or ``reuse_key_id`` to renew with the
    seal's existing key (not after a key compromise)."""
    issuer = hierarchy.issuer(session, SEAL_CA)
    custody = hierarchy.custody
    if reuse_key_id:
        row = repository.key(session, reuse_key_id)
        if row is None or row.owner != owner or row.purpose != "seal":
            raise HierarchyError(f"key {reuse_key_id} is not a key of seal {owner}")
        compromised = [
            c
            for c in repository.certificates(session, owner=owner, kind="seal")
            if c.key_id == reuse_key_id and c.revocation_reason == "key_compromise"
        ]
        if compromised:
            raise HierarchyError(f"key {reuse_key_id} was compromised; renew with a new key")
        key = custody.signing_key(session, reuse_key_id)
    else:
        key = custody.generate(
            session,
            purpose="seal",
            algorithm=algorithm or KeyAlgorithm(hierarchy.settings.key_algorithm),
            state="active",
            owner=owner,
        )
        hierarchy.events.record(
            session,
            type="key.generated",
            actor=actor,
            subject=key.key_id,
            details={"purpose": "seal", "owner": owner, "algorithm": key.algorithm.value},
        )
    return hierarchy.issue(
        session,
        issuer=issuer,
        issuer_ca=SEAL_CA,
        kind="seal",
        owner=owner,
        key=key,
        subject=build_name(
            common_name=seal_name,
            organization=organization,
            organization_identifier=f"NTRCN-{uscc}",
        ),
        days=days,
        extensions=end_entity_extensions(
            key_usage={"digital_signature", "non_repudiation"},
            extended_key_usage=None,
            endpoints=hierarchy.endpoints(SEAL_CA),
        ),
        actor=actor,
    )
