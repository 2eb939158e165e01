"""Where a keyset page continues, for lists ordered by (rank, creation time, id): the
cursor's key (see ``paging``) and the SQL condition "after that key".

The rank puts some rows first (pending applications and grants: the inbox); creation time
then id make the order total, so a row added or decided between two pages is neither
skipped twice nor shown twice within its rank.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, false, or_, true
from sqlalchemy.sql.elements import ColumnElement

from admin.errors import Invalid
from core.clock import as_utc


def key(*, created_at: datetime, id: str, rank: int = 0) -> str:
    """The key of a row (its position in the order)."""
    return f"{rank}|{as_utc(created_at).isoformat()}|{id}"


def parse(value: str) -> tuple[int, datetime, str]:
    """The (rank, time, id) of a key from a cursor; a forged cursor is refused."""
    try:
        rank, moment, ident = value.split("|", 2)
        parsed = int(rank), as_utc(datetime.fromisoformat(moment)), ident
    except (ValueError, OverflowError):
        raise Invalid("the cursor is not one this server gave out") from None
    # Ranks are 0 or 1 and ids short: anything else was not given out here (and a huge rank
    # would overflow the database's integer).
    if parsed[0] not in (0, 1) or len(ident) > 64:
        raise Invalid("the cursor is not one this server gave out")
    return parsed


def after(value: str | None, *, created: Any, ident: Any, rank: Any = None) -> ColumnElement[bool]:
    """Rows after the key ``value`` (every row when None), in the order (rank, created, id)."""
    if value is None:
        return true()
    at_rank, moment, last = parse(value)
    later = or_(created > moment, and_(created == moment, ident > last))
    if rank is None:
        return later if at_rank == 0 else false()
    return or_(rank > at_rank, and_(rank == at_rank, later))
