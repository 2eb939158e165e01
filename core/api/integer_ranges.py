"""Integer types for request parameters, bounded by the SQL columns their values reach.

An unbounded ``int`` from a query string or form overflows PostgreSQL INTEGER (2^31-1) or
BIGINT (2^63-1) and SQLite's 64-bit integers deep inside a statement (a 500); these types make
such values a 422 at the edge, and publish the bounds in the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

INT32_MAX = 2**31 - 1  # PostgreSQL INTEGER
INT64_MAX = 2**63 - 1  # PostgreSQL BIGINT, SQLite INTEGER

Int32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
"""A value compared with or stored in an INTEGER column (ids), from 0."""

Int64 = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A value compared with or stored in a BIGINT column (log indices, tree sizes), from 0."""

PositiveInt64 = Annotated[int, Field(ge=1, le=INT64_MAX)]
"""A BIGINT value from 1 (a tree size that is not empty)."""
