"""``/admin/v1/roles`` and ``/admin/v1/role-changes``: who holds the three administrator
roles, and two-person changes to them (a holder asks, a holder of another role confirms)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import Field

from admin import appointments
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import ACT, READ

router = APIRouter(prefix="/admin/v1", tags=["admin: roles"])
ChangeId = Annotated[str, Path(max_length=32, pattern=r"^rolechg_[0-9a-f]{16}$")]


class RoleChangeRequest(StrictBody):
    """Grant a role to a person, or withdraw it."""

    action: Literal["grant", "withdraw"]
    person: str = Field(min_length=1, max_length=254, description="Login of the person")
    role: Literal["system-admin", "security-admin", "audit-admin"]


@router.get("/roles", responses=READ)
def list_roles(admin: AdministrationDep, actor: ActorDep) -> dict[str, Any]:
    """Everyone holding one of the three administrator roles."""
    return {"items": appointments.holders(admin, actor), "next_cursor": None}


@router.get("/role-changes", responses=READ)
def list_changes(
    admin: AdministrationDep,
    actor: ActorDep,
    status: Annotated[Literal["pending", "done", "rejected"] | None, Query()] = None,
) -> dict[str, Any]:
    """Requested role changes, newest first."""
    return {"items": appointments.changes(admin, actor, status=status), "next_cursor": None}


@router.post("/role-changes", status_code=201, responses=ACT)
def request_change(
    admin: AdministrationDep, actor: ActorDep, body: Annotated[RoleChangeRequest, Body()]
) -> dict[str, Any]:
    """Ask to grant or withdraw a role (you must hold that role); another role confirms."""
    return appointments.request_change(
        admin, actor, action=body.action, login=body.person, role=body.role
    )


@router.post("/role-changes/{change_id}/confirm", responses=ACT)
def confirm_change(
    admin: AdministrationDep, actor: ActorDep, change_id: ChangeId
) -> dict[str, Any]:
    """Confirm a requested change (a holder of another role); it takes effect now."""
    return appointments.decide_change(admin, actor, change_id=change_id, confirm=True)


@router.post("/role-changes/{change_id}/reject", responses=ACT)
def reject_change(admin: AdministrationDep, actor: ActorDep, change_id: ChangeId) -> dict[str, Any]:
    """Reject a requested change."""
    return appointments.decide_change(admin, actor, change_id=change_id, confirm=False)
