"""``/admin/v1/upstreams``: upstream OpenID providers people may sign in through,
registered and disabled by the system administrator; the client secret goes in, never out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path
from pydantic import Field

from admin import upstreams
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import ACT, READ

router = APIRouter(prefix="/admin/v1/upstreams", tags=["admin: upstreams"])
UpstreamId = Annotated[str, Path(min_length=2, max_length=32)]
Short = Annotated[str, Field(min_length=1, max_length=64)]
Level = Annotated[int, Field(ge=1, le=4)]


class NewUpstream(StrictBody):
    """An upstream to register (the rules of ``tongxing upstreams create``)."""

    id: str = Field(min_length=2, max_length=32, description="a slug: a-z, 0-9, '-'")
    protocol: Literal["oidc", "ticket:json-v1"] = Field(
        default="oidc",
        description="oidc, or a ticket-style platform (discovery_url is then its base URL)",
    )
    name_zh: str = Field(min_length=1, max_length=128)
    name_en: str = Field(min_length=1, max_length=128)
    discovery_url: str = Field(min_length=1, max_length=512)
    client_id: str = Field(min_length=1, max_length=255)
    client_secret: str = Field(min_length=1, max_length=512)
    scopes: list[Short] = Field(default=["openid", "profile"], max_length=16)
    claim_map: dict[str, Short] = Field(
        default={"name": "name"},
        description="which upstream claim is name, national_id, phone",
    )
    acr_map: dict[str, Level] = Field(
        default={}, description="upstream acr value -> our level 1-4 (unmapped: 1)"
    )
    amr_map: dict[str, Short] = Field(
        default={}, description="upstream amr value -> the RFC 8176 value passed on"
    )
    trusted_proofing_level: int | None = Field(
        default=None,
        ge=2,
        le=4,
        description="the proofing level its identity number earns (null: none)",
    )


class UpstreamChanges(StrictBody):
    """Fields to change."""

    disabled: bool


@router.get("", responses=READ)
def list_upstreams(admin: AdministrationDep, actor: ActorDep) -> dict[str, Any]:
    """Every upstream (platform roles); never a secret."""
    return {"items": upstreams.list_upstreams(admin, actor)}


@router.post("", status_code=201, responses=ACT)
def create_upstream(
    admin: AdministrationDep, actor: ActorDep, body: Annotated[NewUpstream, Body()]
) -> dict[str, Any]:
    """Register an upstream (system administrator)."""
    fields = body.model_dump()
    return upstreams.create(admin, actor, upstream_id=fields.pop("id"), **fields)


@router.get("/{upstream_id}", responses={**READ, 404: ACT[404]})
def get_upstream(
    admin: AdministrationDep, actor: ActorDep, upstream_id: UpstreamId
) -> dict[str, Any]:
    """One upstream (platform roles)."""
    return upstreams.get(admin, actor, upstream_id=upstream_id)


@router.patch("/{upstream_id}", responses=ACT)
def update_upstream(
    admin: AdministrationDep,
    actor: ActorDep,
    upstream_id: UpstreamId,
    body: Annotated[UpstreamChanges, Body()],
) -> dict[str, Any]:
    """Disable or re-enable (system administrator)."""
    return upstreams.set_disabled(admin, actor, upstream_id=upstream_id, disabled=body.disabled)
