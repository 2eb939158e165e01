"""The append-only audit log: appends in the caller's transaction, checkpoints, proofs.

Security contract: ``record`` appends the entry, its leaf hash and every subtree it
completes inside the caller's transaction, after taking the head lock, so an entry exists
if and only if the change it records was committed, and concurrent appends from any number
of processes get consecutive indexes (no gaps, no forks). When such a transaction commits,
a checkpoint for the new size is signed with the log key in the same transaction (skipped,
and left to the periodic checkpoint, if the key cannot sign: logging never blocks a
business change). Entries never contain documents or key material, only digests and ids.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event
from sqlalchemy.orm import Session

from audit import checkpoint, merkle, repository
from audit.models import AuditCheckpoint, AuditEntry, AuditNode
from core.clock import as_utc
from core.database import Database
from core.events import canonical_json
from keys import repository as key_repository
from keys.custody import CustodyError, KeyCustody
from keys.hierarchy import AUDIT_LOG_PURPOSE
from keys.stores import SigningKey

log = logging.getLogger("tongxing.audit")

_PENDING = "tongxing_audit_pending"
_LISTENING = "tongxing_audit_listening"


def origin_for(issuer: str) -> str:
    """The log's origin (and signing key name): the issuer without scheme, plus /audit."""
    parts = urlsplit(issuer)
    return f"{parts.netloc}{parts.path.rstrip('/')}/audit"


@dataclass(frozen=True)
class Appended:
    """Where an entry landed."""

    index: int
    leaf: bytes


class AuditLog:
    """The log of one deployment (implements ``core.events.EventRecorder``)."""

    def __init__(self, *, database: Database, custody: KeyCustody, origin: str) -> None:
        self.database = database
        self.custody = custody
        self.origin = origin

    # --- appending ------------------------------------------------------------------------

    def record(
        self, session: Session, *, type: str, actor: str, subject: str, details: dict[str, Any]
    ) -> None:
        """``EventRecorder``: append the event in the caller's transaction."""
        self.append(session, type=type, actor=actor, subject=subject, details=details)

    def append(
        self, session: Session, *, type: str, actor: str, subject: str, details: dict[str, Any]
    ) -> Appended:
        """Append one entry; returns its index (the ``Tongxing-Audit-Index`` of a seal)."""
        index = repository.claim_next_index(session)
        now = datetime.now(UTC).replace(microsecond=0)
        leaf = canonical_json(
            {
                "seq": index,
                "type": type,
                "actor": actor,
                "subject": subject,
                "time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "details": details,
            }
        ).encode()
        session.add(
            AuditEntry(
                index=index, type=type, actor=actor, subject=subject, created_at=now, leaf=leaf
            )
        )
        completed = merkle.new_nodes(index)
        left_siblings = [merkle.children(key)[0] for key in completed[1:]]
        stored = repository.nodes(session, left_siblings) if left_siblings else {}
        value = merkle.leaf_hash(leaf)
        session.add(AuditNode(level=0, index=index, hash=value))
        for key in completed[1:]:
            left = stored.get(merkle.children(key)[0])
            if left is None:
                raise RuntimeError(f"audit log is missing subtree {merkle.children(key)[0]}")
            value = merkle.node_hash(left, value)
            session.add(AuditNode(level=key[0], index=key[1], hash=value))
        self._checkpoint_on_commit(session)
        return Appended(index=index, leaf=leaf)

    def _checkpoint_on_commit(self, session: Session) -> None:
        session.info[_PENDING] = True
        if session.info.get(_LISTENING):
            return
        session.info[_LISTENING] = True

        @event.listens_for(session, "before_commit")
        def _sign(committing: Session) -> None:
            if committing.info.pop(_PENDING, False):
                self._sign_checkpoint(committing, size=repository.lock_head(committing))

        @event.listens_for(session, "after_rollback")
        def _forget(rolled_back: Session) -> None:
            rolled_back.info.pop(_PENDING, None)

    # --- checkpoints ----------------------------------------------------------------------

    def log_key(self, session: Session) -> SigningKey | None:
        """The active log key, if there is one and it can sign now."""
        rows = key_repository.keys_in_state(session, purpose=AUDIT_LOG_PURPOSE, states=("active",))
        if not rows:
            return None
        try:
            return self.custody.signing_key(session, rows[-1].id)
        except CustodyError:
            log.warning("the audit log key cannot sign; checkpoint deferred", exc_info=True)
            return None

    def _sign_checkpoint(self, session: Session, *, size: int) -> AuditCheckpoint | None:
        key = self.log_key(session)
        if key is None:
            return None
        root = merkle.root_hash(size, lambda keys: repository.nodes(session, keys))
        now = datetime.now(UTC).replace(microsecond=0)
        note = checkpoint.sign(
            checkpoint.Checkpoint(origin=self.origin, size=size, root=root, time=now), key
        )
        row = AuditCheckpoint(tree_size=size, root_hash=root, note=note, created_at=now)
        session.add(row)
        return row

    def checkpoint_if_stale(self, *, max_age: timedelta) -> bool:
        """Sign a fresh checkpoint when the latest is older than ``max_age`` (periodic job)."""
        with self.database.transaction() as session:
            size = repository.lock_head(session)
            latest = repository.latest_checkpoint(session)
            if (
                latest
                and as_utc(latest.created_at) > datetime.now(UTC) - max_age
                and (latest.tree_size == size)
            ):
                return False
            return self._sign_checkpoint(session, size=size) is not None

    # --- reading ----------------------------------------------------------------------------

    def root(self, session: Session, size: int) -> bytes:
        """The root hash of the first ``size`` entries."""
        return merkle.root_hash(size, lambda keys: repository.nodes(session, keys))

    def inclusion_proof(self, session: Session, *, index: int, size: int) -> list[bytes]:
        """The audit path of entry ``index`` in the tree of ``size`` entries."""
        return merkle.inclusion_proof(index, size, lambda keys: repository.nodes(session, keys))

    def consistency_proof(self, session: Session, *, first: int, second: int) -> list[bytes]:
        """The proof that the tree of ``first`` entries is a prefix of the one of ``second``."""
        return merkle.consistency_proof(first, second, lambda keys: repository.nodes(session, keys))
