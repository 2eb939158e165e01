"""``/admin/v1/organisations``: organisations and their members — the system administrator
for any, an organisation's administrator (单位管理员) for their own only."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import Field

from admin import organisations, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.lists import DEFAULT_LIMIT, Cursor, Limit
from admin.api.responses import ACT, READ, UPDATE

router = APIRouter(prefix="/admin/v1/organisations", tags=["admin: organisations"])
OrganisationId = Annotated[
    str, Path(min_length=1, max_length=32, description="Id or unified social credit code")
]
PersonRef = Annotated[str, Path(min_length=1, max_length=254, description="Id or login")]


class NewOrganisation(StrictBody):
    """An organisation (legal person) to create."""

    name: str = Field(min_length=1, max_length=200)
    uscc: str = Field(min_length=18, max_length=18, description="Unified social credit code")


class OrganisationChanges(StrictBody):
    """Rename, disable or re-enable."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    disabled: bool | None = None


class Member(StrictBody):
    """A person to add, or whose role changes."""

    person: str = Field(min_length=1, max_length=254, description="Id or login of the person")
    role: Literal["admin", "member"] = "member"


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("", responses=READ)
def list_organisations(
    admin: AdministrationDep, actor: ActorDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> dict[str, Any]:
    """Organisations by credit code (an organisation administrator: their own)."""
    return organisations.list_organisations(admin, actor, limit=limit, cursor=cursor)


@router.post("", status_code=201, responses=ACT)
def create_organisation(
    admin: AdministrationDep,
    actor: ActorDep,
    body: Annotated[NewOrganisation, Body()],
    response: Response,
) -> dict[str, Any]:
    """Create an organisation (system administrator)."""
    return _tagged(response, organisations.create(admin, actor, name=body.name, uscc=body.uscc))


@router.get("/{organisation_id}", responses={**READ, 404: ACT[404]})
def get_organisation(
    admin: AdministrationDep, actor: ActorDep, organisation_id: OrganisationId, response: Response
) -> dict[str, Any]:
    """One organisation; the ETag names this version for a later PATCH."""
    return _tagged(response, organisations.get(admin, actor, ref=organisation_id))


@router.patch("/{organisation_id}", responses=UPDATE)
def update_organisation(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    if_match: IfMatchDep,
    body: Annotated[OrganisationChanges, Body()],
    response: Response,
) -> dict[str, Any]:
    """Rename, disable or re-enable (system administrator; If-Match required)."""
    view = organisations.update(
        admin,
        actor,
        ref=organisation_id,
        if_match=if_match,
        name=body.name,
        disabled=body.disabled,
    )
    return _tagged(response, view)


@router.get("/{organisation_id}/members", responses={**READ, 404: ACT[404]})
def list_members(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The organisation's members by username."""
    return organisations.members(admin, actor, ref=organisation_id, limit=limit, cursor=cursor)


@router.post("/{organisation_id}/members", responses=ACT)
def set_member(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    body: Annotated[Member, Body()],
) -> dict[str, Any]:
    """Add a person, or change their role (system administrator, or the organisation's
    own administrator)."""
    return organisations.set_member(
        admin, actor, ref=organisation_id, person=body.person, role=body.role
    )


@router.delete("/{organisation_id}/members/{person}", status_code=204, responses=ACT)
def remove_member(
    admin: AdministrationDep, actor: ActorDep, organisation_id: OrganisationId, person: PersonRef
) -> Response:
    """End a membership (the last administrator stays until another is appointed)."""
    organisations.remove_member(admin, actor, ref=organisation_id, person=person)
    return Response(status_code=204)
