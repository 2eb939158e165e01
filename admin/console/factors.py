"""The console's part of a person's page about sign-in factors: the list (platform roles),
enrolling an authenticator app (QR and ``otpauth://`` link shown once, on the answer) and
removing every factor after an in-person check (security administrator), on
``admin.factors``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import factors
from admin.console.factor_texts import TEXT
from admin.console.web import Console, ConsoleDep, act, bad_form, refused, render
from admin.errors import AdminError
from idp import qr
from idp.models import PLATFORM_ROLES

router = APIRouter(prefix="/admin/people", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
PersonId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
PURPOSE = "factors"


def context(c: Console, person_id: str) -> dict[str, Any]:
    """What the person page's factors part shows (nothing for an organisation
    administrator, who does not manage authentication)."""
    words = TEXT[c.lang]
    if c.actor.role not in PLATFORM_ROLES:
        return {"factors": None, "ft": words}
    return {"factors": factors.list_factors(c.admin, c.actor, ref=person_id), "ft": words}


@router.post("/{person_id}/factors/totp")
async def enrol_totp(c: ConsoleDep, person_id: PersonId, csrf_token: Csrf = "") -> Response:
    """Enrol an authenticator app for the person; the QR and link are on this answer only."""
    if not c.csrf_ok(PURPOSE, csrf_token):
        return bad_form(c)
    try:
        done = await run_in_threadpool(lambda: factors.enrol_totp(c.admin, c.actor, ref=person_id))
    except AdminError as exc:
        return refused(c, exc)
    return render(
        c,
        c.request,
        "person_totp.html",
        {
            "person": done["person"],
            "uri": done["uri"],
            "qr": qr.svg_data_uri(done["uri"]),
            "ft": TEXT[c.lang],
        },
        status=201,
    )


@router.post("/{person_id}/factors/reset")
async def reset(
    c: ConsoleDep,
    person_id: PersonId,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """Remove every factor of the person after an in-person check (the reason audited)."""
    return await act(
        c,
        PURPOSE,
        csrf_token,
        lambda: factors.reset_factors(c.admin, c.actor, ref=person_id, reason=reason),
        f"/admin/people/{person_id}?ok=1",
    )
