"""The account page: my sessions, my connected apps, sign out of one or every session."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from core.i18n import beijing_time, pick_language
from idp import connected_apps, repository
from idp.api import page_parts, web
from idp.api.deps import IdpDep
from idp.api.logout import propagate
from idp.sessions import COOKIE as SSO_COOKIE

router = APIRouter(tags=["identity"], include_in_schema=False)


@router.get("/account")
async def account(request: Request, idp: IdpDep) -> Response:
    """What the signed-in person can see and end."""
    handle = request.cookies.get(SSO_COOKIE)
    sso = idp.sessions.get(handle)
    browser, new = browser_id(request)

    def build() -> Response:
        if sso is None:
            return web.render(request, "account.html", {"user": None}, status=401)
        t = web.texts(request)
        live = idp.sessions.of_user(sso.user_id)
        signed_in = {client_id for _, s in live for client_id in s.clients}
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
            apps = connected_apps.of_user(session, sso.user_id, signed_in=signed_in)
            org = (
                repository.organisation(session, sso.organisation_id)
                if sso.organisation_id
                else None
            )
            member = (
                repository.membership(session, organisation_id=org.id, user_id=sso.user_id)
                if org is not None
                else None
            )
            parts = (
                page_parts.account_parts(request, idp, session, user, sso)
                if user is not None
                else []
            )
        sessions = [
            (
                ref,
                s,
                beijing_time(s.auth_time, pick_language(request), seconds=False),
                s.sid == sso.sid,
            )
            for ref, s in live
        ]
        return web.render(
            request,
            "account.html",
            {
                "user": user,
                "apps": apps,
                "sessions": sessions,
                "org_name": org.name if org else None,
                "org_role": t["role_agent"]
                if sso.agent_authorisation_id and org is not None
                else (t.get(f"role_{member.role}", member.role) if member else None),
                "csrf_token": web.csrf_token(idp, browser, "account"),
                "parts": parts,
            },
        )

    response = await run_in_threadpool(build)
    if new:
        web.set_browser_cookie(response, idp, browser)
    return response


@router.post("/account/sessions/end")
async def end_one(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    session: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """End one of my sessions (this one or another device's)."""
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None or not await run_in_threadpool(web.csrf_ok, request, idp, "account", csrf_token):
        return web.see_other("/account")
    ended = idp.sessions.end_by_reference(sso.user_id, session)
    response = web.see_other("/account")
    if ended is not None:
        if ended.sid == sso.sid:
            web.clear_sso_cookie(response, idp)
        await propagate(idp, ended, reason="account-page", response=response)
    return response


@router.post("/account/sign-out-everywhere")
async def end_all(
    request: Request, idp: IdpDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """End every session of mine, on every device."""
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None or not await run_in_threadpool(web.csrf_ok, request, idp, "account", csrf_token):
        return web.see_other("/account")
    response = web.render(request, "logged_out.html", {})
    web.clear_sso_cookie(response, idp)
    for reference, _ in idp.sessions.of_user(sso.user_id):
        ended = idp.sessions.end_by_reference(sso.user_id, reference)
        if ended is not None:
            await propagate(idp, ended, reason="everywhere", response=response)
    return response
