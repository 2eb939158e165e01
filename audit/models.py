"""SQL models of the audit log: the head (size, origin), entries, subtree hashes, checkpoints."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.database import Base


class AuditHead(Base):
    """One row: the tree size. Appends update it first, which serialises them across
    processes (a row lock on PostgreSQL, the write lock on SQLite)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger)
    # The log's name in its checkpoints (c2sp.org/tlog-checkpoint), fixed once for the
    # life of the log (see ``AuditLog.fix_origin``): NULL only until it is first fixed.
    origin: Mapped[str | None] = mapped_column(String(255))


class AuditEntry(Base):
    """A log entry: ``leaf`` is the exact canonical JSON that was hashed; the other columns
    repeat some of its fields for queries."""

    __tablename__ = "audit_entries"

    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(255), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    leaf: Mapped[bytes] = mapped_column(LargeBinary)


class AuditNode(Base):
    """The hash of the complete subtree (``level``, ``index``); level 0 holds leaf hashes."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary)


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP signed-note text) of the tree at ``tree_size``."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class AuditFileDigest(Base):
    """A lookup aid for ``audit find``: the SHA-256 (hex) of a file an entry names.

    Not part of the tree: a finder re-reads the entry's leaf and only trusts a match the
    leaf itself states, so a row added, changed or dropped here cannot fake or hide an
    entry from a verified log (at worst a lookup misses; ``audit verify`` is unaffected)."""

    __tablename__ = "audit_file_digests"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
