"""The database on SQLite and PostgreSQL: reachability, transactions, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.database import Database, DatabaseUnavailable, describe_url
from core.models import AppInstance


def _instance(ident: str) -> AppInstance:
    return AppInstance(id=ident, hostname="h", pid=1, version="t", started_at=datetime.now(UTC))


def test_ping(database: Database) -> None:
    database.ping()


def test_transaction_commits_or_leaves_nothing(database: Database) -> None:
    with database.transaction() as session:
        session.add(_instance("committed"))

    def crash_mid_request() -> None:
        with database.transaction() as session:
            session.add(_instance("rolled-back"))
            session.flush()
            raise RuntimeError("crash in the middle of a request")

    with pytest.raises(RuntimeError):
        crash_mid_request()
    with database.transaction() as session:
        ids = session.scalars(select(AppInstance.id)).all()
    assert ids == ["committed"]


def test_savepoints_work(database: Database) -> None:
    with database.transaction() as session:
        session.add(_instance("outer"))
        nested = session.begin_nested()
        session.add(_instance("inner"))
        session.flush()
        nested.rollback()
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(AppInstance)) == 1


def test_corrupt_sqlite_file_is_named(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"this is not an sqlite database at all" * 200)
    database = Database(f"sqlite:///{corrupt}")
    with pytest.raises(DatabaseUnavailable, match="corrupt or not a database"):
        database.ping()


def test_unreachable_postgres_is_one_line_without_password() -> None:
    database = Database("postgresql+psycopg://tx:pa55word@127.0.0.1:1/tongxing")
    with pytest.raises(DatabaseUnavailable) as caught:
        database.ping()
    assert "\n" not in str(caught.value)
    assert "pa55word" not in describe_url(database.url)


def test_nul_is_refused_in_single_and_multi_row_statements(database: Database) -> None:
    from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select

    from core.database import UnstorableText

    metadata = MetaData()
    table = Table(
        f"nul_probe_{abs(hash(database.url)) % 10_000}",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(20)),
    )
    metadata.create_all(database.engine)
    try:
        with database.transaction() as session:  # a multi-row INSERT with generated ids
            session.execute(insert(table).returning(table.c.id), [{"name": "a"}, {"name": "b"}])
        for rows in ([{"name": "x\x00"}], [{"name": "ok"}, {"name": "y\x00"}]):
            with pytest.raises(UnstorableText), database.transaction() as session:
                session.execute(insert(table), rows)
        with pytest.raises(UnstorableText), database.reading() as session:
            session.execute(select(table).where(table.c.name == "z\x00"))
        with database.reading() as session:
            assert session.scalars(select(table.c.name)).all() == ["a", "b"]
    finally:
        metadata.drop_all(database.engine)
