"""Form fields sent once: a dependency that refuses a repeated field instead of keeping one.

Starlette keeps every part of a repeated field and FastAPI silently binds one of them, so a
request with two ``file`` parts would seal one PDF and drop the other without a word.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Request

from core.errors import Problem


def fields_once(*repeatable: str) -> Callable[[Request], Awaitable[None]]:
    """A dependency refusing (422 ``repeated-field``) any form field but ``repeatable`` ones
    that appears more than once. The form is parsed once; FastAPI reuses the parse."""

    async def check(request: Request) -> None:
        seen: set[str] = set()
        for key, _ in (await request.form()).multi_items():
            if key in seen and key not in repeatable:
                raise Problem(
                    status=422,
                    kind="repeated-field",
                    title="A form field appears more than once",
                    detail=f"the form field {key!r} must appear once",
                    field=key,
                )
            seen.add(key)

    return check
