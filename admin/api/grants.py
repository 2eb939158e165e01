"""``/admin/v1/grants``: which client may apply which seal — requested (pending), approved
or rejected by an administrator of the seal's organisation, revoked (rules in
``admin.grants``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import AwareDatetime, Field

from admin import grants, paging, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.responses import ACT, READ, UPDATE

router = APIRouter(prefix="/admin/v1", tags=["admin: grants"])
GrantId = Annotated[str, Path(max_length=32, pattern=r"^grant_[0-9a-f]{16}$")]
Limit = Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=400)]
DocumentType = Annotated[str, Field(min_length=1, max_length=64)]
DocumentTypes = Annotated[list[DocumentType], Field(max_length=50)]
ONE = {**READ, 404: ACT[404]}


class Terms(StrictBody):
    """The terms of a grant (each left out = no limit; at approval: as requested)."""

    until: AwareDatetime | None = Field(
        None, strict=False, description="End of the grant (RFC 3339)"
    )
    max_uses: int | None = Field(None, ge=1, le=1_000_000_000)
    document_types: DocumentTypes | None = Field(
        None, description="The document types it may seal (none: any)"
    )


class GrantRequest(Terms):
    """Ask that a client may apply a seal."""

    seal_id: str = Field(max_length=32, pattern=r"^seal_[0-9a-z_]{1,27}$")
    client_id: str = Field(min_length=1, max_length=64)


class Rejection(StrictBody):
    """Why the grant is turned down."""

    reason: str = Field(min_length=1, max_length=500)


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("/grants", responses=READ)
def list_grants(
    admin: AdministrationDep,
    actor: ActorDep,
    seal_id: Annotated[str | None, Query(max_length=32)] = None,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["pending", "active", "rejected", "revoked"] | None, Query()] = None,
    limit: Limit = paging.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Grants, pending first: every one for the platform administrators; for an
    organisation administrator those of their seals and of their clients."""
    return grants.grants(
        admin,
        actor,
        seal_id=seal_id,
        client_id=client_id,
        status=status,
        limit=limit,
        cursor=cursor,
    )


@router.post("/grants", status_code=201, responses=ACT)
def request_grant(
    admin: AdministrationDep,
    actor: ActorDep,
    body: Annotated[GrantRequest, Body()],
    response: Response,
) -> dict[str, Any]:
    """Request a grant (the system administrator, or an administrator of the organisation
    owning the client); it seals nothing until the seal's organisation approves it."""
    view = grants.request(
        admin,
        actor,
        seal_id=body.seal_id,
        client_id=body.client_id,
        until=body.until,
        max_uses=body.max_uses,
        document_types=body.document_types,
    )
    response.headers["Location"] = f"/admin/v1/grants/{view['id']}"
    return _tagged(response, view)


@router.get("/grants/{grant_id}", responses=ONE)
def get_grant(
    admin: AdministrationDep, actor: ActorDep, grant_id: GrantId, response: Response
) -> dict[str, Any]:
    """One grant (with its ETag)."""
    return _tagged(response, grants.grant(admin, actor, grant_id))


@router.post("/grants/{grant_id}/approve", responses=UPDATE)
def approve(
    admin: AdministrationDep,
    actor: ActorDep,
    grant_id: GrantId,
    if_match: IfMatchDep,
    response: Response,
    body: Annotated[Terms | None, Body()] = None,
) -> dict[str, Any]:
    """Approve a pending grant (an administrator of the seal's organisation); the terms may
    be narrowed here (an earlier end, fewer uses, fewer document types), never widened."""
    terms = body or Terms()
    return _tagged(
        response,
        grants.approve(
            admin,
            actor,
            grant_id=grant_id,
            until=terms.until,
            max_uses=terms.max_uses,
            document_types=terms.document_types,
            if_match=if_match,
        ),
    )


@router.post("/grants/{grant_id}/reject", responses=UPDATE)
def reject(
    admin: AdministrationDep,
    actor: ActorDep,
    grant_id: GrantId,
    body: Annotated[Rejection, Body()],
    if_match: IfMatchDep,
    response: Response,
) -> dict[str, Any]:
    """Reject a pending grant (an administrator of the seal's organisation)."""
    return _tagged(
        response,
        grants.reject(admin, actor, grant_id=grant_id, reason=body.reason, if_match=if_match),
    )


@router.post("/grants/{grant_id}/revoke", responses=UPDATE)
def revoke(
    admin: AdministrationDep,
    actor: ActorDep,
    grant_id: GrantId,
    if_match: IfMatchDep,
    response: Response,
) -> dict[str, Any]:
    """End an active grant now (security administrator, or an administrator of the
    seal's organisation)."""
    return _tagged(response, grants.revoke(admin, actor, grant_id=grant_id, if_match=if_match))
