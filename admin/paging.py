"""Keyset pagination for admin lists: ``{items, next_cursor}``, the cursor opaque to clients."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from admin.errors import Invalid

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list and the cursor of the next (None on the last page)."""

    items: list[T]
    next_cursor: str | None

    def map(self, render: Callable[[T], Any]) -> dict[str, Any]:
        """The API shape: ``{"items": [...], "next_cursor": ...}``."""
        return {"items": [render(item) for item in self.items], "next_cursor": self.next_cursor}


def encode(key: str) -> str:
    """The cursor for a list continuing after ``key``."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    """The key a cursor continues after (None for the first page); a bad cursor is refused."""
    if not cursor:
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("the cursor is not one this server gave out") from None


def page(rows: Sequence[T], *, limit: int, key: Callable[[T], str]) -> Page[T]:
    """A page from ``rows`` fetched with ``limit + 1`` (the extra row says there is more)."""
    items = list(rows[:limit])
    more = len(rows) > limit
    return Page(items=items, next_cursor=encode(key(items[-1])) if more and items else None)
