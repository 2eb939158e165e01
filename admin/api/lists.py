"""The query parameters every admin list takes: ``limit`` (1..200) and an opaque ``cursor``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from admin.paging import DEFAULT_LIMIT, MAX_LIMIT

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page (1-200, default 50).")]
Cursor = Annotated[
    str | None,
    Query(max_length=512, description="The next_cursor of the previous page."),
]
__all__ = ["DEFAULT_LIMIT", "Cursor", "Limit"]
