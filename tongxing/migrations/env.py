"""Alembic environment: runs migrations on the connection of the ``Database`` passed in."""

from __future__ import annotations

from alembic import context

from tongxing.migrate import lock_for_migration
from tongxing.models import metadata

database = context.config.attributes["database"]

with database.engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=database.is_sqlite,
        compare_type=True,
        # SQLite does support transactional DDL once pysqlite stops managing transactions
        # (core.database); one transaction means a failed upgrade changes nothing.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        lock_for_migration(connection)
        context.run_migrations()
