"""The key hierarchy a test starts on, created once per worker and copied into each test's
emptied database.

Creating it (`tongxing keys init`: a scrypt derivation, the audit-log key, three CAs, OCSP and
TSA certificates, token keys, their audit entries) was most of an ordinary test's set-up, and
almost every test needs one. The first test on an engine creates it for real; the rows it left
are kept in memory, and a later test whose database is empty again gets those same rows
inserted instead. The keys stay sealed under the worker's key-encryption key (every test's
settings use it unless a test chooses another, which creates a hierarchy of its own), so
custody opens them exactly as it opens any installation's. Settings that shape the hierarchy
(issuer, names, algorithm) are part of the snapshot's identity; keys in an HSM are never
snapshotted (the token's objects live outside the database).
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from sqlalchemy import Table, func, select, text

from core.database import Base, Database
from core.settings import Settings
from keys.runtime import KeyServices

# One key-encryption key per test process: the snapshot's keys are sealed under it.
KEY_ENCRYPTION_KEY = secrets.token_urlsafe(32)

# Settings that do not shape the hierarchy's rows (where files go, the store, logging).
_NOT_PART_OF_THE_HIERARCHY = {"data_dir", "store_prefix", "redis_url", "log_format", "log_level"}

Snapshot = list[tuple[Table, list[dict[str, Any]]]]
_SNAPSHOTS: dict[str, Snapshot] = {}


def initialise(keys: KeyServices, *, actor: str = "test") -> None:
    """What ``keys.initialise(actor=...)`` does on an empty database, from the worker's
    snapshot when there is one for these settings (else for real, keeping a snapshot)."""
    identity = _identity(keys.custody.settings, actor)
    database = keys.database
    snapshot = _SNAPSHOTS.get(identity) if identity else None
    if snapshot is not None and _empty(database, snapshot):
        _restore(database, snapshot)
        if not keys.custody.open(create=False):
            raise RuntimeError("the restored key hierarchy has no KEK parameters")
        return
    fresh = identity is not None and _untouched(database)
    keys.initialise(actor=actor)
    if fresh and identity:
        _SNAPSHOTS[identity] = _dump(database)


def _identity(settings: Settings, actor: str) -> str | None:
    """What the snapshot's rows depend on (its audit entries name ``actor``)."""
    if settings.hsm_purposes:
        return None
    values = settings.model_dump(mode="json", exclude=_NOT_PART_OF_THE_HIERARCHY)
    values["actor"] = actor
    values["key_encryption_key"] = settings.key_encryption_key_bytes().hex()
    return hashlib.sha256(repr(sorted(values.items())).encode()).hexdigest()


def _rows(database: Database, table: Table) -> int:
    with database.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _audit_is_empty(database: Database) -> bool:
    with database.engine.connect() as connection:
        size = connection.execute(text("SELECT tree_size FROM audit_head WHERE id = 1")).scalar()
    return not size


def _untouched(database: Database) -> bool:
    """Nothing in the database but the empty audit head the test fixtures leave."""
    tables = [t for t in Base.metadata.sorted_tables if t.name != "audit_head"]
    return _audit_is_empty(database) and all(_rows(database, t) == 0 for t in tables)


def _empty(database: Database, snapshot: Snapshot) -> bool:
    """Whether the snapshot's rows can go in as they are: its tables are empty."""
    return _audit_is_empty(database) and all(
        _rows(database, table) == 0 for table, _ in snapshot if table.name != "audit_head"
    )


def _dump(database: Database) -> Snapshot:
    snapshot: Snapshot = []
    with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = [dict(row) for row in connection.execute(select(table)).mappings()]
            if rows:
                snapshot.append((table, rows))
    return snapshot


def _restore(database: Database, snapshot: Snapshot) -> None:
    # Ids keep the values the first creation drew; sequences only grow, so the rows a test
    # adds next draw higher ones.
    with database.engine.begin() as connection:
        for table, rows in snapshot:
            if table.name == "audit_head":
                connection.execute(table.delete())
            connection.execute(table.insert(), rows)
