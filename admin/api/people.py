"""``/admin/v1/people``: people as the system administrator creates and edits them, the
security administrator locks them, and every administrator reads them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Query, Response
from pydantic import Field

from admin import people, proofing, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.lists import DEFAULT_LIMIT, Cursor, Limit
from admin.api.responses import ACT, READ, UPDATE
from core.api import responses

router = APIRouter(prefix="/admin/v1/people", tags=["admin: people"])
PersonId = Annotated[str, Path(min_length=1, max_length=254, description="Id or login")]


class NewPerson(StrictBody):
    """A person to create; the password and identity number are never shown back."""

    username: str = Field(min_length=3, max_length=64)
    display_name: str = Field(default="", max_length=128)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    password: str | None = Field(default=None, max_length=1024)
    national_id: str | None = Field(default=None, max_length=32)
    proofing_level: int = Field(default=1, ge=1, le=4)


class PersonChanges(StrictBody):
    """Fields to change; a contact set to null is removed."""

    display_name: str | None = Field(default=None, min_length=1, max_length=128)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=20)
    disabled: bool | None = None


class NewPassword(StrictBody):
    """The new password (never stored in clear, never logged)."""

    password: str = Field(min_length=1, max_length=1024)


class LockReason(StrictBody):
    """Why (goes into the audit log)."""

    reason: str | None = Field(default=None, max_length=500)


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


@router.get("", responses=READ)
def list_people(
    admin: AdministrationDep,
    actor: ActorDep,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
    organisation: Annotated[
        str | None, Query(max_length=32, description="Id or credit code")
    ] = None,
) -> dict[str, Any]:
    """People by username (an organisation administrator: the members of their own)."""
    return people.list_people(admin, actor, limit=limit, cursor=cursor, organisation=organisation)


@router.post("", status_code=201, responses=ACT)
def create_person(
    admin: AdministrationDep,
    actor: ActorDep,
    body: Annotated[NewPerson, Body()],
    response: Response,
) -> dict[str, Any]:
    """Create a person (system administrator)."""
    return _tagged(response, people.create(admin, actor, **body.model_dump()))


@router.get("/{person_id}", responses={**READ, 404: ACT[404]})
def get_person(
    admin: AdministrationDep, actor: ActorDep, person_id: PersonId, response: Response
) -> dict[str, Any]:
    """One person; the ETag names this version for a later PATCH."""
    return _tagged(response, people.get(admin, actor, ref=person_id))


@router.patch("/{person_id}", responses=UPDATE)
def update_person(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    if_match: IfMatchDep,
    body: Annotated[PersonChanges, Body()],
    response: Response,
) -> dict[str, Any]:
    """Change name, email, phone or disabled (system administrator; If-Match required)."""
    changes = body.model_dump(include=body.model_fields_set)
    return _tagged(
        response, people.update(admin, actor, ref=person_id, if_match=if_match, changes=changes)
    )


@router.post("/{person_id}/password", responses=ACT)
def set_password(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    body: Annotated[NewPassword, Body()],
    response: Response,
) -> dict[str, Any]:
    """Set a person's password (system administrator; not another administrator's); the person
    is signed out everywhere."""
    return _tagged(
        response, people.set_password(admin, actor, ref=person_id, password=body.password)
    )


@router.post("/{person_id}/lock", responses=ACT)
def lock(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    response: Response,
    body: Annotated[LockReason | None, Body()] = None,
) -> dict[str, Any]:
    """Lock an account (security administrator): no sign-in, and every grant ends."""
    reason = body.reason if body else None
    return _tagged(response, people.lock(admin, actor, ref=person_id, locked=True, reason=reason))


@router.post("/{person_id}/unlock", responses=ACT)
def unlock(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    response: Response,
    body: Annotated[LockReason | None, Body()] = None,
) -> dict[str, Any]:
    """Unlock an account (security administrator)."""
    reason = body.reason if body else None
    return _tagged(response, people.lock(admin, actor, ref=person_id, locked=False, reason=reason))


@router.post(
    "/{person_id}/cancel-deletion",
    responses={
        **ACT,
        409: responses.problem(
            "The person has not asked for their account's deletion (kind no-deletion-pending)"
        ),
        412: UPDATE[412],
    },
)
def cancel_deletion(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    response: Response,
    if_match: Annotated[
        str | None,
        Header(alias="If-Match", max_length=512, description="Optional: the ETag you read."),
    ] = None,
) -> dict[str, Any]:
    """Cancel the deletion the person asked for, within its grace period (system
    administrator): the account is enabled again unless it is locked."""
    return _tagged(response, people.cancel_deletion(admin, actor, ref=person_id, if_match=if_match))


class ProofingChange(StrictBody):
    """Level 4 after an in-person check at a counter (system administrator), or a lower
    level when the identity is in doubt (security administrator); the note is audited."""

    level: int = Field(ge=1, le=4)
    note: str = Field(min_length=2, max_length=500, description="what was seen, or why")
    national_id: str | None = Field(
        default=None, max_length=32, description="read at the counter, when none is on record"
    )


@router.post("/{person_id}/proofing", responses=UPDATE)
def set_proofing(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    if_match: IfMatchDep,
    body: Annotated[ProofingChange, Body()],
    response: Response,
) -> dict[str, Any]:
    """Record an in-person check (level 4) or lower a person's level (If-Match required)."""
    return _tagged(
        response,
        proofing.set_level(
            admin,
            actor,
            ref=person_id,
            level=body.level,
            note=body.note,
            national_id=body.national_id,
            if_match=if_match,
        ),
    )


@router.get("/{person_id}/national-id", responses={**READ, 404: ACT[404]})
def reveal_national_id(
    admin: AdministrationDep,
    actor: ActorDep,
    person_id: PersonId,
    response: Response,
    reason: Annotated[str, Query(min_length=2, max_length=500, description="audited")],
) -> dict[str, Any]:
    """The identity number in clear (system or security administrator, with a reason);
    the look itself is an audit event."""
    response.headers["Cache-Control"] = "no-store"
    return proofing.reveal_national_id(admin, actor, ref=person_id, reason=reason)
