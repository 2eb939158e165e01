"""Migrations: one history that builds exactly the models' schema on SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text

from audit import repository as audit_repository
from core.database import Database
from tests import backends
from tests.conftest import require_backend
from tongxing import migrate
from tongxing.models import metadata


def test_schema_matches_models(database: Database) -> None:
    assert migrate.current_revision(database) == migrate.head_revision(database)
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_upgrade_is_idempotent(database: Database) -> None:
    head = migrate.head_revision(database)
    assert migrate.upgrade(database) == (head, head)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_0007_names_an_existing_log_after_its_first_checkpoint(engine: str, tmp_path: Path) -> None:
    """An installation at 0006 with checkpoints: the origin comes from the first one (the
    name the log was created under), not from a later one signed after a move."""
    require_backend(engine)
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'old.db'}"
            if engine == "sqlite"
            else stack.enter_context(backends.scratch_postgres_database())
        )
        database = Database(url)
        stack.callback(database.dispose)
        command.upgrade(migrate._config(database), "0006")
        with database.engine.begin() as connection:
            for origin in ("127.0.0.1:8300/audit", "127.0.0.1:8301/audit"):
                connection.execute(
                    text(
                        "INSERT INTO audit_checkpoints (tree_size, root_hash, note, created_at)"
                        " VALUES (1, :root, :note, CURRENT_TIMESTAMP)"
                    ),
                    {"root": b"\0" * 32, "note": f"{origin}\n1\nAAAA\n\n— {origin} AAAA\n"},
                )
        migrate.upgrade(database)
        with database.reading() as session:
            assert audit_repository.origin(session) == "127.0.0.1:8300/audit"


def test_0007_leaves_a_log_without_checkpoints_to_the_first_start(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'new.db'}")
    try:
        migrate.upgrade(database)
        with database.reading() as session:
            assert audit_repository.origin(session) is None  # fixed from the issuer at start
    finally:
        database.dispose()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_0009_keeps_each_persons_level(engine: str, tmp_path: Path) -> None:
    """People created before levels of assurance keep theirs: unverified 1, confirmed by
    an authority 2, checked in person 4; and a downgrade gives the names back."""
    require_backend(engine)
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'old.db'}"
            if engine == "sqlite"
            else stack.enter_context(backends.scratch_postgres_database())
        )
        database = Database(url)
        stack.callback(database.dispose)
        command.upgrade(migrate._config(database), "0008")
        names = ("unverified", "verified_authority", "verified_in_person")
        with database.engine.begin() as connection:
            for i, assurance in enumerate(names):
                connection.execute(
                    text(
                        "INSERT INTO users (id, username, display_name, assurance, disabled,"
                        " locked, created_at, updated_at) VALUES (:id, :name, :name, :assurance,"
                        " false, false, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                    ),
                    {"id": f"u{i}", "name": f"person{i}", "assurance": assurance},
                )
        migrate.upgrade(database)
        with database.engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, proofing_level, proofing_method FROM users ORDER BY id")
            ).all()
        assert [tuple(r) for r in rows] == [
            ("u0", 1, "self"),
            ("u1", 2, "authority"),
            ("u2", 4, "counter"),
        ]
        command.downgrade(migrate._config(database), "0008")
        with database.engine.connect() as connection:
            back = connection.execute(text("SELECT assurance FROM users ORDER BY id")).all()
        assert [r[0] for r in back] == list(names)
