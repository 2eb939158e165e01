"""``/admin/v1/seals``: the seals an administrator may see (image, certificate), and their
suspension, resumption, revocation and renewal (rules in ``admin.seals``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import Field

from admin import paging, seals, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.responses import ACT, READ, UPDATE
from core.api import responses
from keys.certificate_status import REVOCATION_REASONS
from keys.seal_certificates import SEAL_DAYS

router = APIRouter(prefix="/admin/v1", tags=["admin: seals"])
SealId = Annotated[str, Path(max_length=32, pattern=r"^seal_[0-9a-z_]{1,27}$")]
Limit = Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=400)]
ONE = {**READ, 404: ACT[404]}
RevocationReason = Literal[
    "unspecified",
    "key_compromise",
    "ca_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
    "privilege_withdrawn",
]
assert set(get_args(RevocationReason)) == set(REVOCATION_REASONS)


class Revocation(StrictBody):
    """Why the seal ends (RFC 5280 §5.3.1 reason; the certificate is revoked with it)."""

    reason: RevocationReason = "cessation_of_operation"


class Renewal(StrictBody):
    """A new certificate for an active seal."""

    new_key: bool = Field(False, description="Also replace the key (default: keep it)")
    days: int = Field(SEAL_DAYS, ge=1, le=3650)


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("/seals", responses=READ)
def list_seals(
    admin: AdministrationDep,
    actor: ActorDep,
    organisation: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[Literal["active", "suspended", "revoked"] | None, Query()] = None,
    limit: Limit = paging.DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Seals, oldest first: every seal for the platform administrators, an organisation
    administrator's own organisation's otherwise."""
    return seals.seals(
        admin, actor, organisation=organisation, status=status, limit=limit, cursor=cursor
    )


@router.get("/seals/{seal_id}", responses=ONE)
def get_seal(
    admin: AdministrationDep, actor: ActorDep, seal_id: SealId, response: Response
) -> dict[str, Any]:
    """One seal (with its ETag)."""
    return _tagged(response, seals.seal(admin, actor, seal_id))


@router.get(
    "/seals/{seal_id}/image",
    response_class=Response,
    responses={**ONE, 200: responses.media("image/png", "The seal's image")},
)
def seal_image(admin: AdministrationDep, actor: ActorDep, seal_id: SealId) -> Response:
    """The seal's image (PNG with a transparent background)."""
    return Response(
        seals.image(admin, actor, seal_id),
        media_type="image/png",
        headers={"Cache-Control": "private, no-store"},
    )


@router.get(
    "/seals/{seal_id}/certificate",
    response_class=Response,
    responses={
        **ONE,
        200: responses.media(
            "application/pem-certificate-chain", "The seal's current certificate", binary=False
        ),
    },
)
def seal_certificate(admin: AdministrationDep, actor: ActorDep, seal_id: SealId) -> Response:
    """The seal's current certificate (PEM)."""
    return Response(
        seals.certificate(admin, actor, seal_id), media_type="application/pem-certificate-chain"
    )


@router.post("/seals/{seal_id}/suspend", responses=UPDATE)
def suspend(
    admin: AdministrationDep,
    actor: ActorDep,
    seal_id: SealId,
    if_match: IfMatchDep,
    response: Response,
) -> dict[str, Any]:
    """Suspend a seal (security administrator, or an administrator of its organisation):
    it cannot seal, and its certificate is on hold (CRL/OCSP)."""
    return _tagged(response, seals.suspend(admin, actor, seal_id=seal_id, if_match=if_match))


@router.post("/seals/{seal_id}/resume", responses=UPDATE)
def resume(
    admin: AdministrationDep,
    actor: ActorDep,
    seal_id: SealId,
    if_match: IfMatchDep,
    response: Response,
) -> dict[str, Any]:
    """Lift a suspension (security administrator)."""
    return _tagged(response, seals.resume(admin, actor, seal_id=seal_id, if_match=if_match))


@router.post("/seals/{seal_id}/revoke", responses=UPDATE)
def revoke(
    admin: AdministrationDep,
    actor: ActorDep,
    seal_id: SealId,
    if_match: IfMatchDep,
    response: Response,
    body: Annotated[Revocation | None, Body()] = None,
) -> dict[str, Any]:
    """Revoke a seal for good (security administrator); its certificate is revoked."""
    reason = (body or Revocation()).reason
    return _tagged(
        response, seals.revoke(admin, actor, seal_id=seal_id, reason=reason, if_match=if_match)
    )


@router.post("/seals/{seal_id}/renew", responses=UPDATE)
def renew(
    admin: AdministrationDep,
    actor: ActorDep,
    seal_id: SealId,
    if_match: IfMatchDep,
    response: Response,
    body: Annotated[Renewal | None, Body()] = None,
) -> dict[str, Any]:
    """Issue a new certificate for an active seal (security administrator)."""
    renewal = body or Renewal()
    return _tagged(
        response,
        seals.renew(
            admin,
            actor,
            seal_id=seal_id,
            new_key=renewal.new_key,
            days=renewal.days,
            if_match=if_match,
        ),
    )
