"""The browser-id cookie that CSRF tokens (``core.csrf``) are bound to, for every package's
server-rendered forms."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from core import csrf


def browser_id(request: Request) -> tuple[str, bool]:
    """The browser's id from its cookie, or a new one (and whether it is new)."""
    existing = request.cookies.get(csrf.BROWSER_COOKIE)
    if existing and 16 <= len(existing) <= 64:
        return existing, False
    return csrf.new_browser_id(), True


def set_browser_cookie(response: Response, value: str, *, secure: bool) -> None:
    """Attach the browser-id cookie (a year; it identifies nothing but the browser)."""
    response.set_cookie(
        csrf.BROWSER_COOKIE,
        value,
        max_age=365 * 86400,
        httponly=True,
        secure=secure,
        samesite="lax",
        path="/",
    )
