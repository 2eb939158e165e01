"""The console's seal history: the seal's current state for anyone who may read the seal,
and its audit events (subject = the seal id, newest first) for the audit administrator
only — the others are not asked to be refused, they simply see the current state."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import audit_events, seals
from admin.actors import AUDIT
from admin.console.web import ConsoleDep, page

router = APIRouter(prefix="/admin/seals", include_in_schema=False)
SealId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("/{seal_id}/history")
async def history(
    c: ConsoleDep, seal_id: SealId, cursor: Annotated[str | None, Query(max_length=64)] = None
) -> Response:
    """One seal: its state, and its events for the audit administrator."""

    def build() -> dict[str, Any]:
        seal = seals.seal(c.admin, c.actor, seal_id)
        events = (
            audit_events.events(c.admin, c.actor, subject=seal_id, cursor=cursor, limit=50)
            if c.actor.role == AUDIT
            else None
        )
        return {"seal": seal, "events": events}

    return await run_in_threadpool(page, c, "seal_history.html", build)
