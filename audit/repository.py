"""Every SQL statement of ``audit``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, tuple_, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from audit.merkle import NodeKey
from audit.models import AuditCheckpoint, AuditEntry, AuditFileDigest, AuditHead, AuditNode

# Built once (statements are immutable) and run on the session's connection: through the ORM,
# an UPDATE pays for its bulk-update bookkeeping (an autoflush, syncing loaded objects), three
# times what the statement itself costs, on every append.
_CLAIM = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(tree_size=AuditHead.tree_size + 1)
    .returning(AuditHead.tree_size)
)
_LOCK = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(tree_size=AuditHead.tree_size)
    .returning(AuditHead.tree_size)
)
_ENTRY = insert(AuditEntry)
_NODES = insert(AuditNode)
_DIGESTS = insert(AuditFileDigest)


def claim_next_index(session: Session) -> int:
    """Increment the tree size and return the new entry's index.

    The UPDATE takes the head row's lock (PostgreSQL) or the write lock (SQLite) until the
    transaction ends, so appends from every process are serialised without gaps."""
    return int(session.connection().execute(_CLAIM).scalar_one()) - 1


def lock_head(session: Session) -> int:
    """Take the head lock without appending; returns the tree size."""
    return int(session.connection().execute(_LOCK).scalar_one())


def insert_entry(
    session: Session,
    *,
    entry: dict[str, Any],
    nodes: list[dict[str, Any]],
    digests: Iterable[str],
) -> None:
    """Store an entry (``audit_entries`` columns), its subtree hashes (level, index, hash)
    and its file digests, at once (Core statements on the session's connection: no ORM
    objects to track for rows nobody reads back in the transaction)."""
    connection = session.connection()
    connection.execute(_ENTRY, entry)
    connection.execute(_NODES, nodes)
    rows = [{"sha256": d, "entry_index": entry["index"]} for d in dict.fromkeys(digests)]
    if rows:
        connection.execute(_DIGESTS, rows)


def limit_lock_waits(session: Session, *, milliseconds: int) -> None:
    """For the rest of the transaction, give up waiting for a row lock after ``milliseconds``
    (PostgreSQL's ``lock_timeout``; SQLite has no row locks: its write lock is taken when
    the transaction begins)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SET LOCAL lock_timeout = {int(milliseconds)}"))


def is_lock_timeout(error: BaseException) -> bool:
    """Whether ``error`` is PostgreSQL giving up a lock wait (SQLSTATE 55P03)."""
    return isinstance(error, OperationalError) and (
        getattr(error.orig, "sqlstate", None) == "55P03"
    )


def tree_size(session: Session) -> int:
    """The current tree size (no lock)."""
    return int(session.scalar(select(AuditHead.tree_size).where(AuditHead.id == 1)) or 0)


def nodes(session: Session, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """The stored hashes of ``keys`` (missing ones are absent from the result)."""
    wanted = list(keys)
    found: dict[NodeKey, bytes] = {}
    for start in range(0, len(wanted), 200):
        chunk = wanted[start : start + 200]
        query = select(AuditNode.level, AuditNode.index, AuditNode.hash).where(
            tuple_(AuditNode.level, AuditNode.index).in_(chunk)
        )
        for level, index, value in session.execute(query):
            found[(int(level), int(index))] = bytes(value)
    return found


def entries(session: Session, *, start: int, end: int) -> Sequence[AuditEntry]:
    """Entries with ``start <= index < end`` in order."""
    query = (
        select(AuditEntry)
        .where(AuditEntry.index >= start, AuditEntry.index < end)
        .order_by(AuditEntry.index)
    )
    return session.scalars(query).all()


def entry(session: Session, index: int) -> AuditEntry | None:
    """One entry by index."""
    return session.get(AuditEntry, index)


def entries_newest_first(
    session: Session,
    *,
    before: int | None,
    limit: int,
    type: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEntry]:
    """Up to ``limit`` entries with index below ``before`` (all when None), newest first.

    ``type`` ending in ``.`` is a prefix (``seal.`` matches ``seal.applied``); ``since`` is
    inclusive, ``until`` exclusive. Walks the primary key backwards, so the newest pages cost
    the same however long the log is."""
    query = select(AuditEntry).order_by(AuditEntry.index.desc()).limit(limit)
    if before is not None:
        query = query.where(AuditEntry.index < before)
    if type:
        if type.endswith("."):
            query = query.where(AuditEntry.type.startswith(type, autoescape=True))
        else:
            query = query.where(AuditEntry.type == type)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if since is not None:
        query = query.where(AuditEntry.created_at >= since)
    if until is not None:
        query = query.where(AuditEntry.created_at < until)
    return session.scalars(query).all()


def latest_checkpoint(session: Session) -> AuditCheckpoint | None:
    """The most recent checkpoint."""
    return session.scalars(
        select(AuditCheckpoint).order_by(AuditCheckpoint.id.desc()).limit(1)
    ).first()


def checkpoints(session: Session, *, after_id: int, limit: int) -> Sequence[AuditCheckpoint]:
    """Checkpoints with id greater than ``after_id``, oldest first."""
    query = (
        select(AuditCheckpoint)
        .where(AuditCheckpoint.id > after_id)
        .order_by(AuditCheckpoint.id)
        .limit(limit)
    )
    return session.scalars(query).all()


def origin(session: Session) -> str | None:
    """The origin stored with the log (None until it is fixed)."""
    return session.scalar(select(AuditHead.origin).where(AuditHead.id == 1))


def fix_origin(session: Session, proposed: str) -> str:
    """Store ``proposed`` as the origin unless one is stored already; returns the stored one.

    The conditional UPDATE lets exactly one of several processes starting at once win."""
    session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1, AuditHead.origin.is_(None))
        .values(origin=proposed)
    )
    stored = origin(session)
    assert stored is not None  # the one head row exists from the first migration on
    return stored


def first_checkpoint_note(session: Session) -> str | None:
    """The note of the oldest checkpoint, if any."""
    return session.scalars(
        select(AuditCheckpoint.note).order_by(AuditCheckpoint.id).limit(1)
    ).first()


def entries_naming_file(session: Session, sha256: str) -> Sequence[AuditEntry]:
    """The entries indexed under a file's SHA-256 (hex, lower case), in order."""
    query = (
        select(AuditEntry)
        .join(AuditFileDigest, AuditFileDigest.entry_index == AuditEntry.index)
        .where(AuditFileDigest.sha256 == sha256)
        .order_by(AuditEntry.index)
    )
    return session.scalars(query).all()
