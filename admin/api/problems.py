"""Renders every refusal of the rule book as a problem document (RFC 9457)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from admin.errors import AdminError
from core.errors import problem_response


async def _on_admin_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AdminError)
    return problem_response(exc.problem(), instance=request.url.path)


def install(app: FastAPI) -> None:
    """Let routers raise :class:`AdminError` directly."""
    app.add_exception_handler(AdminError, _on_admin_error)
