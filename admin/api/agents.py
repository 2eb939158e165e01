"""``/admin/v1/organisations/{id}/agents``: agent authorisations (经办人授权) — the system
administrator for any organisation, an organisation's administrator for their own (rules in
``admin.agents``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import Field

from admin import agents, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.lists import DEFAULT_LIMIT, Cursor, Limit
from admin.api.responses import ACT, READ, UPDATE

router = APIRouter(prefix="/admin/v1/organisations", tags=["admin: organisations"])
OrganisationId = Annotated[
    str, Path(min_length=1, max_length=32, description="Id or unified social credit code")
]
AuthorisationId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]


class NewAgent(StrictBody):
    """An authorisation to offer a person: all business, or the listed apps, for a period."""

    person: str = Field(min_length=1, max_length=254, description="Id or login of the person")
    scope: Literal["all", "apps"] = Field(
        description="all: 全业务 (every app); apps: 精准授权 (only the listed client ids)"
    )
    apps: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50, description="Client ids (scope apps only)"
    )
    valid_from: datetime = Field(strict=False, description="Start (RFC 3339, with offset)")
    valid_until: datetime = Field(strict=False, description="End, exclusive (RFC 3339)")


@router.get("/{organisation_id}/agents", responses={**READ, 404: ACT[404]})
def list_agents(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """The organisation's agent authorisations in every state."""
    return agents.list_agents(admin, actor, ref=organisation_id, limit=limit, cursor=cursor)


@router.post("/{organisation_id}/agents", status_code=201, responses=ACT)
def offer_agent(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    body: Annotated[NewAgent, Body()],
) -> dict[str, Any]:
    """Authorise a person to act for the organisation (system administrator, or the
    organisation's administrator); the person accepts it on their account page."""
    return agents.offer(
        admin,
        actor,
        ref=organisation_id,
        person=body.person,
        scope=body.scope,
        apps=body.apps,
        valid_from=body.valid_from,
        valid_until=body.valid_until,
    )


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("/{organisation_id}/agents/{authorisation_id}", responses={**READ, 404: ACT[404]})
def get_agent(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    authorisation_id: AuthorisationId,
    response: Response,
) -> dict[str, Any]:
    """One authorisation; the ETag names this version for a revocation."""
    view = agents.get(admin, actor, ref=organisation_id, authorisation_id=authorisation_id)
    return _tagged(response, view)


@router.post("/{organisation_id}/agents/{authorisation_id}/revoke", responses=UPDATE)
def revoke_agent(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation_id: OrganisationId,
    authorisation_id: AuthorisationId,
    if_match: IfMatchDep,
    response: Response,
) -> dict[str, Any]:
    """Revoke an authorisation now (If-Match required): tokens issued under it stop,
    sessions acting under it choose again."""
    view = agents.revoke(
        admin, actor, ref=organisation_id, authorisation_id=authorisation_id, if_match=if_match
    )
    return _tagged(response, view)
