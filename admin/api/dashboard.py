"""``/admin/v1/dashboard``: what needs an administrator's attention now."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from admin import dashboard, versions
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import READ

router = APIRouter(prefix="/admin/v1", tags=["admin: dashboard"])


@router.get("/dashboard", responses=READ)
def view(admin: AdministrationDep, actor: ActorDep, response: Response) -> dict[str, Any]:
    """Counts, pending decisions, expiring seals and CA certificates, failed logout
    deliveries; recent audit events for the audit administrator only. An organisation
    administrator sees their organisation's part only (`scope: organisations`)."""
    board = dashboard.view(admin, actor)
    response.headers["ETag"] = versions.etag(board)
    return board
