"""UTC time helpers shared by every package."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime (SQLite hands back naive ones; we store only UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
