"""The console's agent-authorisation screen (经办人授权) of one organisation: the list, a new
authorisation and revocation — the system administrator for any organisation, an
organisation administrator for their own — on ``admin.agents``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Path, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import agents, organisations
from admin.console.web import Console, ConsoleDep, act, if_match, page, with_versions

router = APIRouter(prefix="/admin/organisations", include_in_schema=False)
Csrf = Annotated[str, Form(max_length=128)]
OrganisationId = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
AuthorisationId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]{32}$")]
Cursor = Annotated[str | None, Query(max_length=256)]
# Dates on the form are Beijing dates: from the start of the first day to the end of the last.
BEIJING = timezone(timedelta(hours=8))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=BEIJING)


def _agents(c: Console, organisation_id: str, cursor: str | None) -> dict[str, Any]:
    found = organisations.get(c.admin, c.actor, ref=organisation_id)
    return {
        "organisation": found,
        "agents": with_versions(
            agents.list_agents(c.admin, c.actor, ref=organisation_id, cursor=cursor)
        ),
        "today": datetime.now(BEIJING).date().isoformat(),
        "a_year_on": (datetime.now(BEIJING).date() + timedelta(days=365)).isoformat(),
        "ok": c.request.query_params.get("ok") == "1",
    }


@router.get("/{organisation_id}/agents")
async def agent_list(
    c: ConsoleDep, organisation_id: OrganisationId, cursor: Cursor = None
) -> Response:
    """The organisation's agent authorisations, and the form for a new one."""
    return await run_in_threadpool(
        page, c, "agents.html", lambda: _agents(c, organisation_id, cursor)
    )


@router.post("/{organisation_id}/agents")
async def offer(
    c: ConsoleDep,
    organisation_id: OrganisationId,
    person: Annotated[str, Form(min_length=1, max_length=254)],
    valid_from: Annotated[date, Form()],
    valid_until: Annotated[date, Form()],
    scope: Annotated[Literal["all", "apps"], Form()] = "all",
    apps: Annotated[str, Form(max_length=2000)] = "",
    csrf_token: Csrf = "",
) -> Response:
    """Authorise a person (by login) to act for the organisation."""
    listed = [a for a in apps.replace("，", ",").replace(" ", ",").split(",") if a]
    return await act(
        c,
        "agents",
        csrf_token,
        lambda: agents.offer(
            c.admin,
            c.actor,
            ref=organisation_id,
            person=person.strip(),
            scope=scope,
            apps=listed if scope == "apps" else [],
            valid_from=_start_of(valid_from),
            valid_until=_start_of(valid_until + timedelta(days=1)),
        ),
        f"/admin/organisations/{organisation_id}/agents?ok=1",
    )


@router.post("/{organisation_id}/agents/{authorisation_id}/revoke")
async def revoke(
    c: ConsoleDep,
    organisation_id: OrganisationId,
    authorisation_id: AuthorisationId,
    version: Annotated[str | None, Form(max_length=64)] = None,
    csrf_token: Csrf = "",
) -> Response:
    """Revoke an authorisation now (the version the page showed: a changed one is refused)."""
    return await act(
        c,
        "agents",
        csrf_token,
        lambda: agents.revoke(
            c.admin,
            c.actor,
            ref=organisation_id,
            authorisation_id=authorisation_id,
            if_match=if_match(version),
        ),
        f"/admin/organisations/{organisation_id}/agents?ok=1",
    )
