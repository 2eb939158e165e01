"""``/admin/v1/cas-services``: CAS services (legacy department apps speaking CAS 3.0),
registered by exact URL and disabled by the system administrator."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import Field

from admin import cas_services, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.lists import DEFAULT_LIMIT, Cursor, Limit
from admin.api.responses import ACT, READ, UPDATE

router = APIRouter(prefix="/admin/v1/cas-services", tags=["admin: CAS services"])
ServiceId = Annotated[str, Path(min_length=1, max_length=32)]


class NewCasService(StrictBody):
    """A CAS service to register (the rules of ``tongxing cas-services create``)."""

    service: str = Field(
        min_length=1, max_length=512, description="The exact service URL (no patterns)"
    )
    name: str = Field(default="", max_length=128)
    min_acr: str | None = Field(
        default=None,
        max_length=64,
        description="The lowest acr its sign-ins may have (urn:tongxing:loa:1-4); null: none",
    )


class CasServiceChanges(StrictBody):
    """Fields to change."""

    disabled: bool | None = None


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("", responses=READ)
def list_services(
    admin: AdministrationDep, actor: ActorDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> dict[str, Any]:
    """CAS services by URL."""
    return cas_services.list_services(admin, actor, limit=limit, cursor=cursor)


@router.post("", status_code=201, responses=ACT)
def create_service(
    admin: AdministrationDep,
    actor: ActorDep,
    body: Annotated[NewCasService, Body()],
    response: Response,
) -> dict[str, Any]:
    """Register a CAS service (system administrator)."""
    return _tagged(response, cas_services.create(admin, actor, **body.model_dump()))


@router.get("/{service_id}", responses={**READ, 404: ACT[404]})
def get_service(
    admin: AdministrationDep, actor: ActorDep, service_id: ServiceId, response: Response
) -> dict[str, Any]:
    """One CAS service; the ETag names this version for a later PATCH."""
    return _tagged(response, cas_services.get(admin, actor, ref=service_id))


@router.patch("/{service_id}", responses=UPDATE)
def update_service(
    admin: AdministrationDep,
    actor: ActorDep,
    service_id: ServiceId,
    if_match: IfMatchDep,
    body: Annotated[CasServiceChanges, Body()],
    response: Response,
) -> dict[str, Any]:
    """Disable or re-enable (system administrator)."""
    changes = {
        k: v for k, v in body.model_dump(include=body.model_fields_set).items() if v is not None
    }
    return _tagged(
        response,
        cas_services.update(admin, actor, ref=service_id, if_match=if_match, changes=changes),
    )
