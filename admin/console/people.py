"""The console's people screens: the list (paged, by organisation, one login looked up),
a new person, and one person's page — profile, password, disabled state and a pending
deletion to cancel for the system administrator, lock and unlock for the security
administrator — on ``admin.people``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import people, proofing, versions
from admin.console import factors as person_factors
from admin.console.web import Console, ConsoleDep, act, bad_form, if_match, page
from admin.errors import NotFound

router = APIRouter(prefix="/admin/people", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
Version = Annotated[str | None, Form(max_length=64)]
PersonId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]


def _blank(text: str) -> str | None:
    return text.strip() or None


@router.get("")
async def people_list(
    c: ConsoleDep,
    q: Annotated[str, Query(max_length=254)] = "",
    organisation: Annotated[str, Query(max_length=32)] = "",
    cursor: Annotated[str | None, Query(max_length=256)] = None,
) -> Response:
    """People by login; ``q`` looks one person up by login (username, email or phone)."""

    def build() -> dict[str, Any]:
        if q.strip():
            try:
                found = {"items": [people.get(c.admin, c.actor, ref=q.strip())]}
            except NotFound:
                found = {"items": []}
            listing = {**found, "next_cursor": None}
        else:
            listing = people.list_people(
                c.admin, c.actor, cursor=cursor, organisation=organisation or None
            )
        return {
            "people": listing,
            "q": q,
            "organisation": organisation,
            "ok": c.request.query_params.get("ok") == "1",
        }

    return await run_in_threadpool(page, c, "people.html", build)


@router.post("")
async def create(
    c: ConsoleDep,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    display_name: Annotated[str, Form(max_length=128)] = "",
    email: Annotated[str, Form(max_length=254)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """A new person (system administrator)."""
    made: dict[str, Any] = {}

    def run() -> None:
        made.update(
            people.create(
                c.admin,
                c.actor,
                username=username.strip(),
                display_name=display_name.strip(),
                email=_blank(email),
                phone=_blank(phone),
                password=password or None,
            )
        )

    response = await act(c, "people", csrf_token, run, "/admin/people?ok=1")
    if made:
        response.headers["location"] = f"/admin/people/{made['id']}?ok=1"
    return response


def _person(c: Console, person_id: str) -> dict[str, Any]:
    person = people.get(c.admin, c.actor, ref=person_id)
    return {
        "person": {**person, "etag": versions.etag(person)},
        "ok": c.request.query_params.get("ok") == "1",
        **person_factors.context(c, person["id"]),
    }


@router.get("/{person_id}")
async def person(c: ConsoleDep, person_id: PersonId) -> Response:
    """One person, with the forms the administrator's role allows."""
    return await run_in_threadpool(page, c, "person.html", lambda: _person(c, person_id))


@router.post("/{person_id}/profile")
async def profile(
    c: ConsoleDep,
    person_id: PersonId,
    display_name: Annotated[str, Form(min_length=1, max_length=128)],
    email: Annotated[str, Form(max_length=254)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Change the display name and contacts (an empty contact is removed)."""
    return await act(
        c,
        "people",
        csrf_token,
        lambda: people.update(
            c.admin,
            c.actor,
            ref=person_id,
            if_match=if_match(version),
            changes={
                "display_name": display_name.strip(),
                "email": _blank(email),
                "phone": _blank(phone),
            },
        ),
        f"/admin/people/{person_id}?ok=1",
    )


@router.post("/{person_id}/password")
async def password(
    c: ConsoleDep,
    person_id: PersonId,
    new_password: Annotated[str, Form(min_length=1, max_length=256)],
    csrf_token: Csrf = "",
) -> Response:
    """Set a new password (system administrator; never another role holder's)."""
    return await act(
        c,
        "people",
        csrf_token,
        lambda: people.set_password(c.admin, c.actor, ref=person_id, password=new_password),
        f"/admin/people/{person_id}?ok=1",
    )


@router.post("/{person_id}/proofing")
async def set_proofing(
    c: ConsoleDep,
    person_id: PersonId,
    level: Annotated[int, Form(ge=1, le=4)],
    note: Annotated[str, Form(max_length=500)] = "",
    national_id: Annotated[str, Form(max_length=32)] = "",
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Record an in-person check (level 4, system administrator) or lower the level
    (security administrator)."""
    return await act(
        c,
        "people",
        csrf_token,
        lambda: proofing.set_level(
            c.admin,
            c.actor,
            ref=person_id,
            level=level,
            note=note,
            national_id=_blank(national_id),
            if_match=if_match(version),
        ),
        f"/admin/people/{person_id}?ok=1",
    )


@router.post("/{person_id}/national-id")
async def reveal_national_id(
    c: ConsoleDep,
    person_id: PersonId,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """The identity number in clear, on this answer only (the look is audited)."""
    if not c.csrf_ok("people", csrf_token):
        return bad_form(c)

    def build() -> dict[str, Any]:
        shown = proofing.reveal_national_id(c.admin, c.actor, ref=person_id, reason=reason)
        return {**_person(c, person_id), "revealed": shown["national_id"]}

    return await run_in_threadpool(page, c, "person.html", build)


@router.post("/{person_id}/cancel-deletion")
async def cancel_deletion(
    c: ConsoleDep, person_id: PersonId, version: Version = None, csrf_token: Csrf = ""
) -> Response:
    """Cancel the deletion the person asked for (system administrator)."""
    return await act(
        c,
        "people",
        csrf_token,
        lambda: people.cancel_deletion(c.admin, c.actor, ref=person_id, if_match=if_match(version)),
        f"/admin/people/{person_id}?ok=1",
    )


@router.post("/{person_id}/{change}")
async def state(
    c: ConsoleDep,
    person_id: PersonId,
    change: Literal["disable", "enable", "lock", "unlock"],
    reason: Annotated[str, Form(max_length=500)] = "",
    version: Version = None,
    csrf_token: Csrf = "",
) -> Response:
    """Disable or enable (system administrator), lock or unlock (security administrator)."""

    def run() -> Any:
        if change in ("lock", "unlock"):
            return people.lock(
                c.admin, c.actor, ref=person_id, locked=change == "lock", reason=_blank(reason)
            )
        return people.update(
            c.admin,
            c.actor,
            ref=person_id,
            if_match=if_match(version),
            changes={"disabled": change == "disable"},
        )

    return await act(c, "people", csrf_token, run, f"/admin/people/{person_id}?ok=1")
