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
import re
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from sqlalchemy import event
from sqlalchemy.orm import Session

from audit import checkpoint, merkle, repository
from audit.models import AuditCheckpoint
from core.clock import as_utc
from core.database import Database
from core.events import canonical_json
from keys import repository as key_repository
from keys.custody import CustodyError, KeyCustody
from keys.hierarchy import AUDIT_LOG_PURPOSE
from keys.stores import SigningKey

log = logging.getLogger("tongxing.audit")

_APPENDED = "tongxing_audit_appended"
_FRONTIER = "tongxing_audit_frontier"
_LISTENING = "tongxing_audit_listening"
_COMMITTING = "tongxing_audit_committing"
_KEY_LOOKUP_SECONDS = 60.0
_HEX_SHA256 = re.compile("[0-9a-f]{64}")


def origin_for(issuer: str) -> str:
    """The origin proposed for a new log (its signing key name too): the issuer without
    scheme, plus /audit. Only a log without a stored origin takes it (``AuditLog.origin``)."""
    parts = urlsplit(issuer)
    return f"{parts.netloc}{parts.path.rstrip('/')}/audit"


@dataclass(frozen=True)
class Appended:
    """Where an entry landed."""

    index: int
    leaf: bytes


class AuditLog:
    """The log of one deployment (implements ``core.events.EventRecorder``)."""

    def __init__(self, *, database: Database, custody: KeyCustody, proposed_origin: str) -> None:
        """``proposed_origin`` (from this deployment's issuer) only names a log that has no
        origin stored yet; once stored, the origin never follows the settings again."""
        self.database = database
        self.custody = custody
        self.proposed_origin = proposed_origin
        self._origin: str | None = None
        # (key id, loaded key, custody generation, found at): see ``log_key``.
        self._log_key: tuple[str, SigningKey, int, float] | None = None
        # The right edge of the last tree size this process saw committed: see ``_edge_at``.
        self._committed_edge: tuple[int, dict[merkle.NodeKey, bytes]] | None = None
        self._edge_lock = threading.Lock()

    # --- the log's name -----------------------------------------------------------------

    @property
    def origin(self) -> str:
        """The log's origin: the one stored with the log (fixed now if there is none yet)."""
        return self._origin or self.fix_origin()

    def fix_origin(self) -> str:
        """Read the stored origin, storing one first if the log has none (run at start-up by
        the app and the CLI, so every later reader agrees whatever its settings say)."""
        if self._origin is None:
            with self.database.transaction() as session:
                return self.origin_in(session)
        return self._origin

    def origin_for_reading(self, session: Session) -> str:
        """The log's origin as a reader should take it, without storing anything: the stored
        one, else the first checkpoint's, else ``proposed_origin`` (an empty log). Readers
        (``audit verify``) may have read-only access, and their settings do not name the log."""
        stored = self._origin or repository.origin(session)
        if stored is not None:
            return stored
        first = repository.first_checkpoint_note(session)
        named = first.split("\n", 1)[0].strip() if first else ""
        return named or self.proposed_origin

    def origin_in(self, session: Session) -> str:
        """The stored origin, read (or fixed) in the caller's transaction.

        A log without one is named after its first checkpoint (the name it was created
        under, which older versions derived from the issuer) or, with no checkpoint yet,
        after ``proposed_origin``. Only a value read back as stored is remembered, so a
        transaction that fixed it and then rolled back does not leave a stale name here."""
        if self._origin is not None:
            return self._origin
        stored = repository.origin(session)
        if stored is not None:
            self._origin = stored
            return stored
        first = repository.first_checkpoint_note(session)
        named = first.split("\n", 1)[0].strip() if first else ""
        return repository.fix_origin(session, named or self.proposed_origin)

    # --- appending ------------------------------------------------------------------------

    def record(
        self, session: Session, *, type: str, actor: str, subject: str, details: dict[str, Any]
    ) -> None:
        """``EventRecorder``: append the event in the caller's transaction."""
        self.append(session, type=type, actor=actor, subject=subject, details=details)

    def append(
        self,
        session: Session,
        *,
        type: str,
        actor: str,
        subject: str,
        details: dict[str, Any],
        file_digests: Iterable[str] = (),
    ) -> Appended:
        """Append one entry; returns its index (the ``Tongxing-Audit-Index`` of a seal).

        ``file_digests``: hex SHA-256 of files the entry names (they must also be in
        ``details``), indexed for ``tongxing audit find``."""
        # Validate before claiming an index: a claimed index must always get its entry.
        canonical_json(details)
        digests = list(file_digests)
        if any(_HEX_SHA256.fullmatch(d) is None for d in digests):
            raise ValueError("file digests are lower-case hex SHA-256")
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
        # The right edge of the tree before this leaf: it holds every left sibling the new
        # leaf merges with, and what the new root folds over. Cached across a batch.
        cached = session.info.get(_FRONTIER)
        if cached is not None and cached[0] == index:
            edge = cached[1]
        else:
            edge = self._edge_at(session, index)
        value = merkle.leaf_hash(leaf)
        nodes = [{"level": 0, "index": index, "hash": value}]
        for key in merkle.new_nodes(index)[1:]:
            left = edge.get(merkle.children(key)[0])
            if left is None:
                raise RuntimeError(f"audit log is missing subtree {merkle.children(key)[0]}")
            value = merkle.node_hash(left, value)
            nodes.append({"level": key[0], "index": key[1], "hash": value})
        entry = {
            "index": index,
            "type": type,
            "actor": actor,
            "subject": subject,
            "created_at": now,
            "leaf": leaf,
        }
        repository.insert_entry(session, entry=entry, nodes=nodes, digests=digests)
        size = index + 1
        keys = merkle.frontier(size)
        edge = {key: edge[key] for key in keys[:-1]}
        edge[keys[-1]] = value
        session.info[_FRONTIER] = (size, edge)
        session.info[_APPENDED] = True
        self._listen(session)
        return Appended(index=index, leaf=leaf)

    def _listen(self, session: Session) -> None:
        if session.info.get(_LISTENING):
            return
        session.info[_LISTENING] = True

        @event.listens_for(session, "before_commit")
        def _sign(committing: Session) -> None:
            if committing.in_nested_transaction():
                return  # a savepoint released (SQLAlchemy calls this for those too)
            if committing.info.pop(_APPENDED, False):
                cached = committing.info.get(_FRONTIER)
                if cached is not None:
                    # The right edge after this transaction's last append: the size and the
                    # root are known, and the head row is locked since the first append.
                    size = cached[0]
                    root = merkle.fold([cached[1][key] for key in merkle.frontier(size)])
                    committing.info[_COMMITTING] = cached
                else:  # a savepoint ended since: recompute from what is stored
                    size = repository.lock_head(committing)
                    root = self.root(committing, size)
                self._sign_checkpoint(committing, size=size, root=root)

        @event.listens_for(session, "after_commit")
        def _committed(committed: Session) -> None:
            # Only once the database said the transaction committed does its right edge
            # describe the stored log (see ``_edge_at``).
            if committed.in_nested_transaction():
                return  # only a savepoint: the transaction may still roll back
            edge = committed.info.pop(_COMMITTING, None)
            if edge is not None:
                with self._edge_lock:
                    self._committed_edge = edge

        @event.listens_for(session, "after_transaction_end")
        def _forget(ended: Session, transaction: Any) -> None:
            # A savepoint's end may undo appends (and the whole transaction's does): drop the
            # cached right edge. A flush's own subtransaction ending undoes nothing (a failed
            # flush leaves the whole transaction to be rolled back).
            if transaction.nested or transaction.parent is None:
                ended.info.pop(_FRONTIER, None)
            if transaction.parent is None:
                ended.info.pop(_APPENDED, None)
                ended.info.pop(_COMMITTING, None)

    def _edge_at(self, session: Session, size: int) -> dict[merkle.NodeKey, bytes]:
        """The right edge (``merkle.frontier(size)``'s hashes) of the tree of ``size`` entries,
        for a caller holding the head lock with ``size`` as the size it read there.

        The edge this process last saw committed is reused when its size is that size: a
        committed prefix of the log never changes (append-only, enforced by the head lock),
        so the edge of size n is the same whichever process committed entry n - 1. A size
        read under the lock counts only committed entries plus the caller's own appends; with
        appends of its own the size is larger than any committed size this process saw, so
        the remembered edge is not taken. Otherwise the hashes are read (one query)."""
        with self._edge_lock:
            remembered = self._committed_edge
        if remembered is not None and remembered[0] == size:
            return dict(remembered[1])
        return repository.nodes(session, merkle.frontier(size))

    def hold_head(self, session: Session) -> int:
        """Take the head lock now, before anything else in the transaction; returns the
        tree size. Appends later in the transaction (in savepoints too) start from the right
        edge remembered here, and a savepoint's rollback cannot release the lock (on
        PostgreSQL, locks taken inside a savepoint are released when it rolls back)."""
        cached = session.info.get(_FRONTIER)
        if cached is not None:
            return int(cached[0])
        size = repository.lock_head(session)
        session.info[_FRONTIER] = (size, self._edge_at(session, size))
        self._listen(session)
        return size

    @contextmanager
    def savepoint(self, session: Session) -> Iterator[None]:
        """A savepoint for one of several units of work in a transaction (group commit):
        the appends in it are kept, or undone with it, and the transaction's right edge
        follows, so the next unit appends without reading it again. Takes the head lock
        first (``hold_head``) if the transaction does not hold it yet."""
        self.hold_head(session)
        before = session.info[_FRONTIER]
        try:
            with session.begin_nested():
                yield
                after = session.info.get(_FRONTIER)
        except BaseException:
            session.info[_FRONTIER] = before  # the savepoint undid whatever it appended
            raise
        session.info[_FRONTIER] = after if after is not None else before

    # --- checkpoints ----------------------------------------------------------------------

    def log_key(self, session: Session) -> SigningKey | None:
        """The active log key, if there is one and it can sign now.

        The key (which one is active, and its loaded object) is remembered per process for
        up to a minute, and forgotten at once when this process's custody forgets keys (a
        rotation or a key taken offline here: ``KeyCustody.generation``). A change made by
        another process is seen within the minute; meanwhile checkpoints are signed by the
        previous log key, which stays in the database as retired and verifies them. The log
        key is never taken offline (only the root CA's is: ``keys.backup``), so skipping the
        key-row read per checkpoint gives up nothing."""
        remembered = self._log_key
        generation = self.custody.generation
        if (
            remembered is not None
            and remembered[2] == generation
            and time.monotonic() - remembered[3] <= _KEY_LOOKUP_SECONDS
        ):
            return remembered[1]
        rows = key_repository.keys_in_state(session, purpose=AUDIT_LOG_PURPOSE, states=("active",))
        if not rows:
            return None
        try:
            key = self.custody.signing_key(session, rows[-1].id)
        except CustodyError:
            log.warning("the audit log key cannot sign; checkpoint deferred", exc_info=True)
            return None
        self._log_key = (rows[-1].id, key, generation, time.monotonic())
        return key

    def _sign_checkpoint(
        self, session: Session, *, size: int, root: bytes | None = None
    ) -> AuditCheckpoint | None:
        key = self.log_key(session)
        if key is None:
            return None
        if root is None:
            root = self.root(session, size)
        now = datetime.now(UTC).replace(microsecond=0)
        origin = self.origin_in(session)
        try:
            note = checkpoint.sign(
                checkpoint.Checkpoint(origin=origin, size=size, root=root, time=now), key
            )
        except Exception:  # an HSM hiccup must not undo the business change
            log.warning("the audit log key failed to sign; checkpoint deferred", exc_info=True)
            return None
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

    def public_key_pem(self, session: Session) -> tuple[bytes, str] | None:
        """The log key as (DER, PEM text), for auditors."""
        key = self.log_key(session)
        if key is None:
            return None
        pem = serialization.load_der_public_key(key.public_key_der).public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return key.public_key_der, pem.decode()

    def root(self, session: Session, size: int) -> bytes:
        """The root hash of the first ``size`` entries."""
        return merkle.root_hash(size, lambda keys: repository.nodes(session, keys))

    def inclusion_proof(self, session: Session, *, index: int, size: int) -> list[bytes]:
        """The audit path of entry ``index`` in the tree of ``size`` entries."""
        return merkle.inclusion_proof(
            index, size=size, fetch=lambda keys: repository.nodes(session, keys)
        )

    def consistency_proof(self, session: Session, *, first: int, second: int) -> list[bytes]:
        """The proof that the tree of ``first`` entries is a prefix of the one of ``second``."""
        return merkle.consistency_proof(
            first, second=second, fetch=lambda keys: repository.nodes(session, keys)
        )
