"""The console's organisation screens: the list and a new organisation (system
administrator), one organisation's page with its members — add, change role, remove (the
system administrator any organisation's, an organisation administrator their own) — and
disable/enable (system administrator), on ``admin.organisations``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import organisations, versions
from admin.console.web import Console, ConsoleDep, act, if_match, page

router = APIRouter(prefix="/admin/organisations", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
Version = Annotated[str | None, Form(max_length=64)]
OrganisationId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
PersonId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Cursor = Annotated[str | None, Query(max_length=256)]


@router.get("")
async def organisation_list(c: ConsoleDep, cursor: Cursor = None) -> Response:
    """Organisations by credit code (an organisation administrator: their own)."""

    def build() -> dict[str, Any]:
        return {
            "organisations": organisations.list_organisations(c.admin, c.actor, cursor=cursor),
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "organisations.html", build)


@router.post("")
async def create(
    c: ConsoleDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    uscc: Annotated[str, Form(min_length=1, max_length=18)],
    csrf_token: Csrf = "",
) -> Response:
    """A new organisation (system administrator)."""
    return await act(
        c,
        "organisations",
        csrf_token,
        lambda: organisations.create(
            c.admin, c.actor, name=name.strip(), uscc=uscc.strip().upper()
        ),
        "/admin/organisations?ok=1",
    )


def _organisation(c: Console, organisation_id: str, cursor: str | None) -> dict[str, Any]:
    found = organisations.get(c.admin, c.actor, ref=organisation_id)
    return {
        "organisation": {**found, "etag": versions.etag(found)},
        "members": organisations.members(c.admin, c.actor, ref=organisation_id, cursor=cursor),
        "ok": c.request.query_params.get("ok") == "1",
    }


@router.get("/{organisation_id}")
async def organisation(
    c: ConsoleDep, organisation_id: OrganisationId, cursor: Cursor = None
) -> Response:
    """One organisation and its members."""
    return await run_in_threadpool(
        page, c, "organisation.html", lambda: _organisation(c, organisation_id, cursor)
    )


@router.post("/{organisation_id}/members")
async def set_member(
    c: ConsoleDep,
    organisation_id: OrganisationId,
    person: Annotated[str, Form(min_length=1, max_length=254)],
    role: Annotated[Literal["member", "admin"], Form()] = "member",
    csrf_token: Csrf = "",
) -> Response:
    """Add a person (by login) or change their role in the organisation."""
    return await act(
        c,
        "organisations",
        csrf_token,
        lambda: organisations.set_member(
            c.admin, c.actor, ref=organisation_id, person=person.strip(), role=role
        ),
        f"/admin/organisations/{organisation_id}?ok=1",
    )


@router.post("/{organisation_id}/members/{person_id}/remove")
async def remove_member(
    c: ConsoleDep, organisation_id: OrganisationId, person_id: PersonId, csrf_token: Csrf = ""
) -> Response:
    """End a person's membership (an organisation keeps its last administrator)."""
    return await act(
        c,
        "organisations",
        csrf_token,
        lambda: organisations.remove_member(
            c.admin, c.actor, ref=organisation_id, person=person_id
        ),
        f"/admin/organisations/{organisation_id}?ok=1",
    )


# After the member routes: /{id}/members must not be read as a state change.
@router.post("/{organisation_id}/{change}")
async def state(
    c: ConsoleDep,
    organisation_id: OrganisationId,
    change: Literal["disable", "enable"],
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Disable or re-enable an organisation (system administrator)."""
    return await act(
        c,
        "organisations",
        csrf_token,
        lambda: organisations.update(
            c.admin,
            c.actor,
            ref=organisation_id,
            if_match=if_match(version),
            disabled=change == "disable",
        ),
        f"/admin/organisations/{organisation_id}?ok=1",
    )
