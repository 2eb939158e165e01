"""``/admin/v1/seal-applications`` (申请制章): an organisation administrator files, a
security administrator other than the applicant approves or rejects (rules in
``admin.seal_applications``)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import Field

from admin import paging, seal_applications, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.responses import ACT, READ, UPDATE
from admin.errors import Invalid
from core.api import responses
from keys.seal_certificates import SEAL_DAYS
from seal.registry import SEAL_TYPES

router = APIRouter(prefix="/admin/v1", tags=["admin: seal applications"])
ApplicationId = Annotated[str, Path(max_length=32, pattern=r"^sealapp_[0-9a-f]{16}$")]
Limit = Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=400)]
SealType = Literal[
    "official", "contract", "finance", "invoice", "business", "approval", "certificate"
]
assert set(get_args(SealType)) == set(SEAL_TYPES), "the API's seal types are the registry's"
MAX_IMAGE_BYTES = 2_000_000  # as seal.stamp_image.check_uploaded_png
ONE = {**READ, 404: ACT[404]}


class Application(StrictBody):
    """An application for a seal of your organisation."""

    organisation: str | None = Field(
        None,
        max_length=64,
        description="Organisation id or USCC; default: the organisation your token acts for",
    )
    type: SealType = Field(description=", ".join(f"{k} {v}" for k, v in SEAL_TYPES.items()))
    name: str | None = Field(None, max_length=100, description="Default: organisation + type")
    image_png: str | None = Field(
        None,
        max_length=4 * (MAX_IMAGE_BYTES // 3 + 1),
        description="The seal image: base64 of a PNG with a transparent background, at most "
        "2 MB; default: the standard round red seal is drawn when the seal is made",
    )


class Approval(StrictBody):
    """How long the seal's first certificate is valid."""

    days: int = Field(SEAL_DAYS, ge=1, le=3650)


class Rejection(StrictBody):
    """Why the application is turned down (shown to the applicant)."""

    reason: str = Field(min_length=1, max_length=500)


def _png(value: str | None) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("image_png is not base64") from None


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("/seal-applications", responses=READ)
def inbox(
    admin: AdministrationDep,
    actor: ActorDep,
    status: Annotated[Literal["pending", "approved", "rejected"] | None, Query()] = None,
    organisation: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = paging.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Applications, pending first (oldest first within each): every one for the platform
    administrators, an organisation administrator's own otherwise."""
    return seal_applications.inbox(
        admin, actor, status=status, organisation=organisation, limit=limit, cursor=cursor
    )


@router.post("/seal-applications", status_code=201, responses=ACT)
def file(
    admin: AdministrationDep,
    actor: ActorDep,
    body: Annotated[Application, Body()],
    response: Response,
) -> dict[str, Any]:
    """File an application (an administrator of the organisation, org:admin)."""
    view = seal_applications.apply(
        admin,
        actor,
        organisation=body.organisation,
        seal_type=body.type,
        name=body.name,
        image_png=_png(body.image_png),
    )
    response.headers["Location"] = f"/admin/v1/seal-applications/{view['id']}"
    return _tagged(response, view)


@router.get("/seal-applications/{application_id}", responses=ONE)
def get_application(
    admin: AdministrationDep, actor: ActorDep, application_id: ApplicationId, response: Response
) -> dict[str, Any]:
    """One application (with its ETag)."""
    return _tagged(response, seal_applications.application(admin, actor, application_id))


@router.get(
    "/seal-applications/{application_id}/image",
    response_class=Response,
    responses={**ONE, 200: responses.media("image/png", "The uploaded seal image")},
)
def application_image(
    admin: AdministrationDep, actor: ActorDep, application_id: ApplicationId
) -> Response:
    """The uploaded image (404 when the seal is to be drawn)."""
    return Response(
        seal_applications.image(admin, actor, application_id),
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )


@router.post("/seal-applications/{application_id}/approve", responses=UPDATE)
def approve(
    admin: AdministrationDep,
    actor: ActorDep,
    application_id: ApplicationId,
    if_match: IfMatchDep,
    response: Response,
    body: Annotated[Approval | None, Body()] = None,
) -> dict[str, Any]:
    """Approve (a security administrator other than the applicant): the seal is made now,
    with a new key and certificate; its id is in ``seal_id``."""
    days = (body or Approval()).days
    return _tagged(
        response,
        seal_applications.approve(
            admin, actor, application_id=application_id, days=days, if_match=if_match
        ),
    )


@router.post("/seal-applications/{application_id}/reject", responses=UPDATE)
def reject(
    admin: AdministrationDep,
    actor: ActorDep,
    application_id: ApplicationId,
    body: Annotated[Rejection, Body()],
    if_match: IfMatchDep,
    response: Response,
) -> dict[str, Any]:
    """Reject (a security administrator other than the applicant), saying why."""
    return _tagged(
        response,
        seal_applications.reject(
            admin, actor, application_id=application_id, reason=body.reason, if_match=if_match
        ),
    )
