"""SQL database access: the declarative base, the engine per settings, and unit-of-work sessions.

One ``Database`` per process, built from settings and passed down (no import-time engine).
SQLite gets foreign keys, WAL and a busy timeout, and real ``BEGIN`` statements so that
transactions (and savepoints) behave as on PostgreSQL.
"""

from __future__ import annotations

import fcntl
import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from core.readiness import NotReady

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base shared by every package's models (one metadata, one migration history)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseUnavailable(NotReady):
    """The database cannot be reached or opened; the message is one line and names no secret."""


class UnstorableText(ValueError):
    """A text parameter holds a NUL character, which no text column can store.

    PostgreSQL refuses such a string (psycopg raises) while SQLite would store or compare it;
    refusing it before either engine sees it gives one answer on both (a 400 at the edge).
    """


def describe_url(url: str) -> str:
    """The URL with any password masked, fit for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def sqlite_path(url: str) -> Path | None:
    """The file behind an SQLite URL (None for in-memory or other engines)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


class Database:
    """An engine plus a session factory for one database URL."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        # A pooled PostgreSQL connection may have been closed by the server; an SQLite
        # connection is a file handle that cannot go stale, so it is not pinged per checkout.
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
            options["connect_args"] = {"connect_timeout": 5}
        self.engine: Engine = create_engine(url, **options)
        event.listen(self.engine, "before_cursor_execute", _refuse_nul_text)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: a transaction that reads and later writes fails at once ("database is
        # locked") if another connection committed in between; writers therefore take the
        # write lock when they begin, waiting for it up to the busy timeout.
        writer = (
            self.engine.execution_options(sqlite_begin="IMMEDIATE")
            if self.is_sqlite
            else (self.engine)
        )
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A read-write unit of work: commits when the block ends, rolls back if it raises."""
        with self.write_sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def snapshot(self) -> Iterator[Session]:
        """A transaction whose statements all see one consistent snapshot (REPEATABLE READ
        on PostgreSQL; an SQLite transaction is one already)."""
        bind = self.engine
        if not self.is_sqlite:
            bind = self.engine.execution_options(isolation_level="REPEATABLE READ")
        with Session(bind, expire_on_commit=False) as session, session.begin():
            yield session

    def ping(self) -> None:
        """Run a trivial query; raise :class:`DatabaseUnavailable` with a one-line reason."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                if self.is_sqlite:
                    # Reading the schema is what detects a file that is not an SQLite database.
                    connection.execute(text("SELECT count(*) FROM sqlite_master"))
        except (OperationalError, DBAPIError) as exc:
            raise DatabaseUnavailable(_reason(exc)) from None

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold the lock ``name`` against every process using this database for the block
        (e.g. one demo start-up at a time, so two never seed the same rows).

        PostgreSQL: a session-level advisory lock on a connection of its own. SQLite: an
        ``flock`` on a file beside the database (the database's own locks end with each
        transaction). An in-memory SQLite database is private to its process: no lock.
        """
        path = sqlite_path(self.url)
        if self.is_sqlite and (path is None or not path.parent.is_dir()):
            yield  # nothing to share (or to open: the start-up checks say what is missing)
        elif path is not None:
            with open(path.with_name(f"{path.name}.{name}.lock"), "a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
        else:
            with self.engine.connect() as connection:
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
                key = {
                    "key": int.from_bytes(
                        hashlib.sha256(name.encode()).digest()[:8], "big", signed=True
                    )
                }
                connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
                try:
                    yield
                finally:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        # Let SQLAlchemy, not pysqlite, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # The default 2 MB page cache makes index lookups in a large audit log hit the disk.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.execute("PRAGMA mmap_size=268435456")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def _refuse_nul_text(
    _connection: Any,
    _cursor: Any,
    _statement: str,
    parameters: Any,
    _context: Any,
    _executemany: bool,
) -> None:
    # Not trusting ``executemany``: SQLAlchemy's multi-row INSERT passes one flat parameter
    # set with that flag on. A list or tuple holds rows only when its items are containers.
    stack = [parameters]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise UnstorableText("text must not contain NUL characters")
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


def _reason(exc: DBAPIError) -> str:
    original = exc.orig if exc.orig is not None else exc
    message = (
        str(original).strip().splitlines()[0] if str(original).strip() else type(original).__name__
    )
    if "file is not a database" in message:
        return "the SQLite file is corrupt or not a database"
    return message
