"""``/admin/v1/people/{id}/totp`` and ``/factors``: the security administrator enrols an
authenticator app for a person (the ``otpauth://`` URI in this one answer, ``no-store``),
removes every factor after an in-person check, and the platform roles list them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Response
from pydantic import Field

from admin import factors
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import ACT, READ

router = APIRouter(prefix="/admin/v1/people", tags=["admin: people"])
PersonId = Annotated[str, Path(min_length=1, max_length=254, description="Id or login")]


class TotpEnrolment(StrictBody):
    """The authenticator's name as the person will see it (optional)."""

    name: str | None = Field(default=None, max_length=64)


class FactorReset(StrictBody):
    """Why every factor is removed: how the person was checked in person (audit log)."""

    reason: str = Field(min_length=1, max_length=500)


@router.post("/{person_id}/totp", status_code=201, responses=ACT)
def enrol_totp(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    response: Response,
    body: Annotated[TotpEnrolment | None, Body()] = None,
) -> dict[str, Any]:
    """Enrol an authenticator app for the person (security administrator, not for
    oneself). ``uri`` (``otpauth://``) is in this response only: hand it to the person."""
    response.headers["Cache-Control"] = "no-store"
    return factors.enrol_totp(admin, actor, ref=person_id, name=body.name if body else None)


@router.get("/{person_id}/factors", responses={**READ, 404: ACT[404]})
def list_factors(admin: AdministrationDep, actor: ActorDep, person_id: PersonId) -> dict[str, Any]:
    """The person's authenticators (never a secret)."""
    return {"items": factors.list_factors(admin, actor, ref=person_id)}


@router.post("/{person_id}/factors/reset", responses=ACT)
def reset_factors(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    body: Annotated[FactorReset, Body()],
) -> dict[str, Any]:
    """Remove every authenticator and recovery code of the person after an in-person check
    (security administrator, not for oneself; the reason is audited)."""
    return factors.reset_factors(admin, actor, ref=person_id, reason=body.reason)
