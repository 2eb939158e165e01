"""Alembic migration environment and scripts (one history for SQLite and PostgreSQL)."""
