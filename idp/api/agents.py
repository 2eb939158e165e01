"""The account page's part for agent authorisations (经办人授权): the person sees what
organisations offered them and what they hold, and accepts or declines an offer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.clock import as_utc
from core.i18n import beijing_time, pick_language
from idp import agents, repository
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.page_parts import account_part
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
CSRF_PURPOSE = "account"  # the account page's forms share one token
AuthorisationId = Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]{32}$")]


@account_part(15, "account_agents.html")
def agents_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any] | None:
    """Offers waiting for the person, and the authorisations they hold; hidden when none."""
    t = web.texts(request)
    lang = pick_language(request)
    rows = []
    for authorisation, organisation in repository.agent_authorisations_of(
        session, user.id, statuses=agents.OPEN
    ):
        apps = []
        for client_id in authorisation.client_ids:
            client = repository.client(session, client_id)
            apps.append(client.name if client is not None else client_id)
        rows.append(
            {
                "id": authorisation.id,
                "organisation": organisation.name,
                "uscc": organisation.uscc,
                "scope": t["agents_scope_all"]
                if authorisation.scope == "all"
                else t["agents_scope_apps"].format(
                    apps=("、" if lang == "zh-CN" else ", ").join(apps)
                ),
                "from": beijing_time(as_utc(authorisation.valid_from), lang, seconds=False),
                "until": beijing_time(as_utc(authorisation.valid_until), lang, seconds=False),
                "status": authorisation.status,
                "current": agents.is_current(authorisation, client_id=None),
            }
        )
    return {"rows": rows} if rows else None


async def _decide(
    request: Request, idp: IdentityProvider, *, authorisation_id: str, csrf_token: str, accept: bool
) -> Response:
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None or not await run_in_threadpool(
        web.csrf_ok, request, idp, CSRF_PURPOSE, csrf_token
    ):
        return web.see_other("/account")

    def decide() -> bool:
        with idp.database.transaction() as session:
            try:
                agents.decide(
                    session,
                    events=idp.events,
                    authorisation_id=authorisation_id,
                    user_id=sso.user_id,
                    accept=accept,
                )
            except agents.AgentError:
                return False
        return True

    done = await run_in_threadpool(decide)
    return web.see_other("/account?agent=" + ("done" if done else "refused") + "#agents")


@router.post("/account/agents/{authorisation_id}/accept")
async def accept(
    request: Request,
    idp: IdpDep,
    authorisation_id: AuthorisationId,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Accept an organisation's authorisation to act for it."""
    return await _decide(
        request, idp, authorisation_id=authorisation_id, csrf_token=csrf_token, accept=True
    )


@router.post("/account/agents/{authorisation_id}/decline")
async def decline(
    request: Request,
    idp: IdpDep,
    authorisation_id: AuthorisationId,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Decline an organisation's authorisation to act for it."""
    return await _decide(
        request, idp, authorisation_id=authorisation_id, csrf_token=csrf_token, accept=False
    )
