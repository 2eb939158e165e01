"""The console's shell: sign-in through our IdP, the callback, sign-out, the dashboard."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from admin.console import (
    agents,
    audit,
    cas_services,
    clients,
    factors,
    keys,
    organisations,
    people,
    registration,
    roles,
    seal_history,
    seals,
    signin,
    upstreams,
    web,
)
from admin.console.web import ConsoleDep, SignInNeeded, bad_form, render, sign_in_redirect
from core.api.deps import runtime_of
from core.i18n import pick_language
from idp.runtime import IdentityProvider

router = APIRouter(prefix="/admin", include_in_schema=False)


def _secure(request: Request) -> bool:
    return runtime_of(request.app).get(IdentityProvider).issuer.startswith("https:")


@router.get("")
def bare() -> RedirectResponse:
    """``/admin`` is the console's front page."""
    return RedirectResponse("/admin/", status_code=308)


@router.get("/login")
async def login(request: Request, next: str | None = None) -> Response:
    """Start the authorization code flow at our own IdP."""
    idp = runtime_of(request.app).get(IdentityProvider)
    url, state = await run_in_threadpool(
        signin.start, idp, lang=pick_language(request), next_path=next
    )
    response = RedirectResponse(url, status_code=303)
    # state is bound to this browser too, so nobody can hand it someone else's callback.
    response.set_cookie(
        signin.STATE_COOKIE,
        state,
        max_age=signin.PENDING_TTL,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/admin/",
    )
    return response


@router.get("/callback")
async def callback(request: Request) -> Response:
    """The authorization response: redeem the code and open the console session."""
    idp = runtime_of(request.app).get(IdentityProvider)
    params = {k: v for k, v in request.query_params.items() if len(v) <= 4096}
    try:
        ref, target = await run_in_threadpool(
            signin.finish,
            idp,
            params=params,
            bound_state=request.cookies.get(signin.STATE_COOKIE),
        )
    except signin.NoAdministratorRole:
        return render(None, request, "signed_out.html", {"no_role": True}, status=403)
    except signin.SignInFailed as exc:
        return render(None, request, "signed_out.html", {"failed": str(exc)}, status=400)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        signin.COOKIE,
        ref,
        max_age=signin.SESSION_TTL,
        httponly=True,
        secure=_secure(request),
        samesite="lax",
        path="/admin/",
    )
    response.delete_cookie(signin.STATE_COOKIE, path="/admin/")
    return response


@router.post("/logout")
async def logout(c: ConsoleDep, csrf_token: Annotated[str, Form(max_length=128)] = "") -> Response:
    """End the console session, then the IdP session (RP-initiated logout)."""
    if not c.csrf_ok("logout", csrf_token):
        return bad_form(c)
    record = await run_in_threadpool(signin.end, c.idp, c.session.ref)
    params = {
        "client_id": registration.CLIENT_ID,
        "post_logout_redirect_uri": registration.home(c.idp.issuer),
    }
    if record is not None:
        params["id_token_hint"] = record["id_token"]
    response = RedirectResponse(f"{c.idp.issuer}/logout?{urlencode(params)}", status_code=303)
    response.delete_cookie(signin.COOKIE, path="/admin/", secure=_secure(c.request), httponly=True)
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request) -> Response:
    """The dashboard, or the sign-in page for a browser without a console session."""
    try:
        c = web.current(request)
    except SignInNeeded:
        return render(None, request, "signed_out.html", {})
    return keys.dashboard_page(c)


async def _sign_in_needed(request: Request, exc: Exception) -> Response:
    return sign_in_redirect(request)


def install(app: FastAPI) -> None:
    """The console's pages, and the redirect to sign-in for pages that need a session."""
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.include_router(router)
    app.include_router(roles.router)
    app.include_router(audit.router)
    app.include_router(seals.router)
    app.include_router(people.router)
    app.include_router(factors.router)
    # Before the organisations' screens: their /{id}/{change} would take /{id}/agents.
    app.include_router(agents.router)
    app.include_router(organisations.router)
    app.include_router(clients.router)
    app.include_router(cas_services.router)
    app.include_router(upstreams.router)
    app.include_router(keys.router)
    app.include_router(seal_history.router)
