"""The console's key status screen (token-signing keys, CA certificates with days left,
CRL freshness, seals close to expiry) and the security administrator's token-key
rotation, on ``admin.key_status``; and the dashboard's content, on ``admin.dashboard``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import dashboard, key_status
from admin.console.web import Console, ConsoleDep, act, page

router = APIRouter(prefix="/admin/keys", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]


@router.get("")
async def keys(c: ConsoleDep) -> Response:
    """Key status for the three platform administrators."""

    def build() -> dict[str, Any]:
        return {
            "status": key_status.status(c.admin, c.actor),
            "purposes": key_status.TOKEN_PURPOSES,
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "keys.html", build)


@router.post("/rotate")
async def rotate(
    c: ConsoleDep,
    purpose: Annotated[str, Form(max_length=64)] = key_status.TOKEN_PURPOSES[0],
    force: Annotated[bool, Form()] = False,
    csrf_token: Csrf = "",
) -> Response:
    """Rotate the token-signing keys of ``purpose`` (security administrator)."""
    return await act(
        c,
        "keys",
        csrf_token,
        lambda: key_status.rotate_token_keys(c.admin, c.actor, purpose=purpose, force=force),
        "/admin/keys?ok=1",
    )


def dashboard_page(c: Console) -> Response:
    """The dashboard as the administrator may see it."""
    return page(c, "dashboard.html", lambda: {"dashboard": dashboard.view(c.admin, c.actor)})
