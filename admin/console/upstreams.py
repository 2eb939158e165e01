"""The console's upstream providers screen: the list for the platform roles, and the system
administrator's disabling and re-enabling, on ``admin.upstreams``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import upstreams
from admin.console.web import ConsoleDep, act, page

router = APIRouter(prefix="/admin/upstreams", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]


@router.get("")
async def list_page(c: ConsoleDep) -> Response:
    """Every upstream provider."""

    def build() -> dict[str, Any]:
        return {
            "upstreams": upstreams.list_upstreams(c.admin, c.actor),
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "upstreams.html", build)


@router.post("/{upstream_id}/disabled")
async def set_disabled(
    c: ConsoleDep,
    upstream_id: str,
    disabled: Annotated[bool, Form()] = True,
    csrf_token: Csrf = "",
) -> Response:
    """Disable or re-enable one (system administrator)."""
    return await act(
        c,
        "upstreams",
        csrf_token,
        lambda: upstreams.set_disabled(
            c.admin, c.actor, upstream_id=upstream_id[:32], disabled=disabled
        ),
        "/admin/upstreams?ok=1",
    )
