"""The console's roles page: who holds the three administrator roles, and two-person
changes (a holder asks, a holder of another role confirms or rejects)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import appointments
from admin.console.web import Console, ConsoleDep, bad_form, done, page, refused
from admin.errors import AdminError

router = APIRouter(prefix="/admin/roles", include_in_schema=False)
ChangeId = Annotated[str, Path(max_length=32, pattern=r"^rolechg_[0-9a-f]{16}$")]
Csrf = Annotated[str, Form(max_length=128)]


def _view(c: Console, **extra: Any) -> Response:
    def build() -> dict[str, Any]:
        return {
            "holders": appointments.holders(c.admin, c.actor),
            "changes": appointments.changes(c.admin, c.actor),
            "ok": c.request.query_params.get("ok") == "1",
            **extra,
        }

    return page(c, "roles.html", build, status=400 if extra.get("error") else 200)


@router.get("")
async def roles(c: ConsoleDep) -> Response:
    """Holders and changes."""
    return await run_in_threadpool(_view, c)


@router.post("/changes")
async def request_change(
    c: ConsoleDep,
    action: Annotated[Literal["grant", "withdraw"], Form()],
    person: Annotated[str, Form(min_length=1, max_length=254)],
    role: Annotated[str, Form(max_length=32)],
    csrf_token: Csrf = "",
) -> Response:
    """Ask for a role change (you must hold the role)."""
    if not c.csrf_ok("roles", csrf_token):
        return bad_form(c)
    try:
        await run_in_threadpool(
            appointments.request_change,
            c.admin,
            c.actor,
            action=action,
            login=person.strip(),
            role=role,
        )
    except AdminError as exc:
        return refused(c, exc)
    return done("/admin/roles?ok=1")


@router.post("/changes/{change_id}/{decision}")
async def decide(
    c: ConsoleDep,
    change_id: ChangeId,
    decision: Literal["confirm", "reject"],
    csrf_token: Csrf = "",
) -> Response:
    """Confirm or reject a requested change (a holder of another role)."""
    if not c.csrf_ok("roles", csrf_token):
        return bad_form(c)
    try:
        await run_in_threadpool(
            appointments.decide_change,
            c.admin,
            c.actor,
            change_id=change_id,
            confirm=decision == "confirm",
        )
    except AdminError as exc:
        return refused(c, exc)
    return done("/admin/roles?ok=1")
