"""Alembic migrations run from code: upgrade to head, report the current and head revisions.

The same migration scripts serve SQLite and PostgreSQL. On PostgreSQL an advisory lock
serialises concurrent upgrades (two replicas starting at once); each upgrade runs in one
transaction, so a failed migration leaves the schema as it was.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from core.database import Database

# Arbitrary but fixed: "tongxing" as a 64-bit advisory-lock key.
MIGRATION_LOCK_KEY = 0x746F6E6778696E67


def _config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", "tongxing:migrations")
    config.attributes["database"] = database
    return config


def head_revision(database: Database) -> str | None:
    """The revision the code expects."""
    return ScriptDirectory.from_config(_config(database)).get_current_head()


def current_revision(database: Database) -> str | None:
    """The revision the database is at (None when never migrated)."""
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database) -> tuple[str | None, str | None]:
    """Apply pending migrations; returns (revision before, revision after)."""
    before = current_revision(database)
    command.upgrade(_config(database), "head")
    return before, current_revision(database)


def lock_for_migration(connection: object) -> None:
    """Take the migration advisory lock on PostgreSQL (released at transaction end)."""
    dialect = connection.dialect.name  # type: ignore[attr-defined]
    if dialect == "postgresql":
        connection.execute(  # type: ignore[attr-defined]
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
        )
