"""What our records say about a sealing: the seal, the time, and the audit-log entry with an
inclusion proof against the latest signed checkpoint (RFC 9162 §2.1.3).

Security contract: the proof is recomputed and checked here, and the entry's own
``signed_digest`` must equal the digest the PDF's signature covers; a mismatch reports
``verified: false`` rather than vouching for the document. Auditors can re-check the proof
themselves with the checkpoint and the log key from ``/audit/v1``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from audit import merkle
from audit import repository as audit_repository
from audit.log import AuditLog
from core.clock import as_utc
from core.database import Database
from seal import repository
from seal.models import Seal
from seal.registry import SEAL_TYPE_NAMES_EN, SEAL_TYPES
from seal.sealing import is_document_id
from seal.verification import RegistryRecord


def seal_summary(seal: Seal) -> dict[str, Any]:
    """The public description of a seal."""
    return {
        "id": seal.id,
        "name": seal.name,
        "type": seal.type,
        "type_zh": SEAL_TYPES.get(seal.type, seal.type),
        "type_en": SEAL_TYPE_NAMES_EN.get(seal.type, seal.type),
        "organisation": seal.organisation_name,
        "uscc": seal.organisation_uscc,
        "status": seal.status,
        "valid_until": as_utc(seal.valid_until).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "image": f"/seal/v1/seals/{seal.id}/image",
    }


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def audit_evidence(
    database: Database, audit: AuditLog, *, index: int, signed_digest: str
) -> dict[str, Any]:
    """The inclusion proof of entry ``index`` and whether it records ``signed_digest``."""
    with database.transaction() as session:
        entries = audit_repository.entries(session, start=index, end=index + 1)
        checkpoint = audit_repository.latest_checkpoint(session)
        if not entries:
            return {"recorded": False, "index": index}
        leaf = entries[0].leaf
        recorded_digest = json.loads(leaf).get("details", {}).get("signed_digest")
        if checkpoint is None or checkpoint.tree_size <= index:
            return {
                "recorded": True,
                "index": index,
                "verified": False,
                "reason": "no signed checkpoint covers this entry yet",
            }
        size = checkpoint.tree_size
        proof = audit.inclusion_proof(session, index=index, size=size)
    leaf_hash = merkle.leaf_hash(leaf)
    included = merkle.verify_inclusion(
        leaf=leaf_hash, index=index, size=size, proof=proof, root=checkpoint.root_hash
    )
    return {
        "recorded": True,
        "index": index,
        "tree_size": size,
        "leaf_hash": _b64(leaf_hash),
        "inclusion_proof": [_b64(p) for p in proof],
        "root_hash": _b64(checkpoint.root_hash),
        "checkpoint": checkpoint.note,
        "verified": included and recorded_digest == signed_digest,
    }


def record_for(database: Database, audit: AuditLog, signed_digest: str) -> RegistryRecord | None:
    """Our record of the sealing whose signature covers ``signed_digest``."""
    with database.transaction() as session:
        document = repository.sealed_by_digest(session, signed_digest)
        if document is None:
            return None
        seal = repository.seal(session, document.seal_id)
        summary = seal_summary(seal) if seal else {"id": document.seal_id}
        sealed_at = as_utc(document.created_at).strftime("%Y-%m-%dT%H:%M:%SZ")
        document_id, index = document.id, document.audit_index
    return RegistryRecord(
        document_id=document_id,
        seal=summary,
        sealed_at=sealed_at,
        audit=audit_evidence(database, audit, index=index, signed_digest=signed_digest),
    )


def public_record(database: Database, audit: AuditLog, document_id: str) -> dict[str, Any] | None:
    """Our public record of the sealing ``document_id`` names, with its audit evidence; None
    for an unknown document or a string that is not a document id (the one rule the QR's
    short link uses too)."""
    if not is_document_id(document_id):
        return None
    with database.transaction() as session:
        document = repository.sealed_document(session, document_id)
        if document is None:
            return None
        seal = repository.seal(session, document.seal_id)
        result = {
            "document_id": document.id,
            "sealed_at": document.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "level": document.level,
            "seal": seal_summary(seal) if seal else {"id": document.seal_id},
            "signed_digest": document.signed_digest,
        }
        index, digest = document.audit_index, document.signed_digest
    result["audit_log"] = audit_evidence(database, audit, index=index, signed_digest=digest)
    return result
