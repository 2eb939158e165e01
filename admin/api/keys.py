"""``/admin/v1/keys``: key status for the platform administrators, token-key rotation and
certificate status changes for the security administrator."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import Field

from admin import key_status, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import ACT, READ
from keys.certificate_status import REVOCATION_REASONS

router = APIRouter(prefix="/admin/v1/keys", tags=["admin: keys"])
CaName = Annotated[Literal["root", "seal", "infra"], Path(description="The issuing CA.")]
Serial = Annotated[
    str,
    Path(
        max_length=64,
        pattern=r"^(0[xX])?[0-9A-Fa-f]{1,60}(:[0-9A-Fa-f]{1,60})*$",
        description="The certificate serial (hex).",
    ),
]


class Rotation(StrictBody):
    """Which token-signing keys to rotate."""

    purpose: Literal["token-signing", "token-signing-rs256"] = "token-signing"
    force: bool = Field(
        default=False,
        description="Promote the next key even if it was published less than 5 minutes ago "
        "(relying parties may not have it yet: only after a key compromise).",
    )


class Revocation(StrictBody):
    """Why the certificate is revoked (RFC 5280 §5.3.1)."""

    reason: Literal[REVOCATION_REASONS] = "unspecified"  # type: ignore[valid-type]


@router.get("", responses=READ)
def key_overview(admin: AdministrationDep, actor: ActorDep, response: Response) -> dict[str, Any]:
    """Token-signing keys (next/active/retired), CA certificates with days left, CRL
    freshness, and seal certificates expiring within 30 days. Any platform administrator."""
    view = key_status.status(admin, actor)
    response.headers["ETag"] = versions.etag(view)
    return view


@router.post("/token/rotate", responses=ACT)
def rotate(
    admin: AdministrationDep, actor: ActorDep, body: Annotated[Rotation | None, Body()] = None
) -> dict[str, str]:
    """Rotate the token-signing keys: next becomes active, the active one is retired (still
    published while its tokens live), a new next key is published. Security administrator."""
    rotation = body or Rotation()
    return key_status.rotate_token_keys(
        admin, actor, purpose=rotation.purpose, force=rotation.force
    )


@router.post("/certificates/{ca}/{serial}/revoke", responses=ACT)
def revoke(
    admin: AdministrationDep,
    actor: ActorDep,
    ca: CaName,
    serial: Serial,
    body: Annotated[Revocation | None, Body()] = None,
) -> dict[str, Any]:
    """Revoke a certificate (final): on the CRL at its next fetch, OCSP says revoked at once.
    Security administrator."""
    reason = (body or Revocation()).reason
    return key_status.set_certificate_status(
        admin, actor, ca=ca, serial=serial, status="revoked", reason=reason
    )


@router.post("/certificates/{ca}/{serial}/suspend", responses=ACT)
def suspend(
    admin: AdministrationDep, actor: ActorDep, ca: CaName, serial: Serial
) -> dict[str, Any]:
    """Suspend a certificate (certificateHold). Security administrator."""
    return key_status.set_certificate_status(admin, actor, ca=ca, serial=serial, status="suspended")


@router.post("/certificates/{ca}/{serial}/reinstate", responses=ACT)
def reinstate(
    admin: AdministrationDep, actor: ActorDep, ca: CaName, serial: Serial
) -> dict[str, Any]:
    """Lift a suspension. Security administrator."""
    return key_status.set_certificate_status(admin, actor, ca=ca, serial=serial, status="good")
