"""The database on SQLite and PostgreSQL: reachability, transactions, clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.database import Database, DatabaseUnavailable, UnstorableText, describe_url
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
    """The ORM's multi-row INSERT (several new rows with generated ids) passes one flat
    parameter set marked executemany; NUL must be refused there too, on both engines."""

    class Scratch(DeclarativeBase):
        pass

    class Probe(Scratch):
        __tablename__ = "nul_probe"
        id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
        name: Mapped[str] = mapped_column(String(20))

    Scratch.metadata.create_all(database.engine)
    try:
        with database.transaction() as session:
            session.add_all([Probe(name="a"), Probe(name="b")])
        for names in (["x\x00"], ["ok", "y\x00"]):
            with pytest.raises(UnstorableText), database.transaction() as session:
                session.add_all([Probe(name=name) for name in names])
        with pytest.raises(UnstorableText), database.reading() as session:
            session.execute(select(Probe).where(Probe.name == "z\x00"))
        with database.reading() as session:
            assert sorted(session.scalars(select(Probe.name)).all()) == ["a", "b"]
    finally:
        Scratch.metadata.drop_all(database.engine)
