"""Migrations: one history that builds exactly the models' schema on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from core.database import Database
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
