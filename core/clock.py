"""UTC time helpers shared by every package."""

from __future__ import annotations

from datetime import UTC, datetime


def as_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime: a naive one is taken to be UTC (SQLite hands back
    naive ones; we store only UTC), an aware one is converted (SQLite would otherwise drop
    its offset on the way in)."""
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
