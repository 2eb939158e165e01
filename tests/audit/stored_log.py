"""The verifier run over the log a test's database holds, as ``tongxing audit verify`` runs it."""

from __future__ import annotations

from typing import NamedTuple

from audit import repository, sources
from audit.log import AuditLog
from audit.verifier import VerifyReport, verify_log


class Verified(NamedTuple):
    """The verifier's report, what it read, and the tree size the head row holds."""

    report: VerifyReport
    material: sources.LogMaterial
    size: int


def verify_stored(audit: AuditLog) -> Verified:
    """Verify every stored entry, node hash and checkpoint of ``audit``'s log."""
    with audit.database.reading() as session:
        material = sources.from_database(session, origin=audit.origin)
        size = repository.tree_size(session)
    report = verify_log(
        entries=material.entries,
        checkpoint_notes=material.checkpoints,
        origin=material.origin,
        public_key_der=material.public_key_der,
        stored_leaf_hashes=material.leaf_hashes,
    )
    return Verified(report, material, size)
