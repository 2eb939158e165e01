"""Signing in through upstream providers: the buttons on the sign-in page, the redirect
there, its callback, the password confirmation of a link, and logout from and to it.

Security contract: see :mod:`idp.federation` and :mod:`idp.federated_logout`; this module
only parses, calls them and renders. The confirmation form carries a CSRF token; the
back-channel endpoint answers ``Cache-Control: no-store`` and 400 for any token it refuses
(Back-Channel Logout 1.0 §2.8).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.csrf import BROWSER_COOKIE
from core.i18n import pick_language
from idp import federated_logout, federation, upstreams
from idp.api import page_parts, web
from idp.api.deps import IdpDep
from idp.api.logout import deliver_after
from idp.api.signed_in import carry_on
from idp.interactions import Interaction
from idp.models import UpstreamProvider
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.upstream_metadata import UpstreamUnavailable

router = APIRouter(tags=["identity"], include_in_schema=False)
PURPOSE = "upstream-confirm"


def _name(request: Request, upstream: UpstreamProvider) -> str:
    return upstream.name_zh if pick_language(request) == "zh-CN" else upstream.name_en


@page_parts.login_part(40, "login_upstreams.html")
def _buttons(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> dict[str, Any] | None:
    """One button per enabled upstream provider."""
    with idp.database.reading() as session:
        shown = [
            {"id": u.id, "name": _name(request, u), "switch": u.protocol != "oidc"}
            for u in upstreams.enabled(session)
        ]
    return {"upstreams": shown} if shown else None


def _refused(request: Request, refused: federation.Refused, detail: str = "") -> HTMLResponse:
    t = web.texts(request)
    message = t[f"upstream_failed_{refused.reason}"].format(detail=detail or "-")
    return web.render(request, "error.html", {"message": message}, status=400)


def _confirm_page(
    request: Request, idp: IdentityProvider, asked: federation.ConfirmPassword, *, status: int
) -> HTMLResponse:
    browser = request.cookies.get(BROWSER_COOKIE) or ""
    upstream_name = ""
    waiting = federation.pending_upstream(idp, asked.token, browser=browser)
    if waiting is not None:
        upstream_name = _name(request, waiting)
    found = idp.interactions.get(asked.interaction_id, browser=browser)
    redirect = found.params.get("redirect_uri") if found is not None else None
    return web.render(
        request,
        "upstream_confirm.html",
        {
            "token": asked.token,
            "csrf_token": web.csrf_token(idp, browser, PURPOSE),
            "username": asked.username,
            "upstream_name": upstream_name,
            "failed": asked.failed,
        },
        status=status,
        form_targets=(web.origin(redirect),) if redirect else (),
    )


async def _outcome(
    request: Request,
    idp: IdentityProvider,
    outcome: federation.SignedIn | federation.ConfirmPassword | federation.Refused,
    *,
    detail: str = "",
) -> Response:
    if isinstance(outcome, federation.Refused):
        return _refused(request, outcome, detail)
    if isinstance(outcome, federation.ConfirmPassword):
        status = 400 if outcome.failed else 200
        return await run_in_threadpool(_confirm_page, request, idp, outcome, status=status)
    found = idp.interactions.get(
        outcome.interaction_id, browser=request.cookies.get(BROWSER_COOKIE)
    )
    return await carry_on(request, idp, found, outcome.opened)


@router.get("/login/upstream/confirm")
async def confirm_page(request: Request, idp: IdpDep, token: str = "") -> Response:
    """The confirmation form again (after a language switch, say)."""
    browser = request.cookies.get(BROWSER_COOKIE)
    waiting = await run_in_threadpool(federation.pending_confirmation, idp, token, browser=browser)
    if waiting is None:
        return _refused(request, federation.Refused(reason="state"))
    interaction_id, username = waiting
    asked = federation.ConfirmPassword(
        token=token, interaction_id=interaction_id, username=username
    )
    return await run_in_threadpool(_confirm_page, request, idp, asked, status=200)


@router.post("/login/upstream/confirm")
async def confirm_submit(
    request: Request,
    idp: IdpDep,
    token: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """The holder of the matched account typed its password."""
    if not await run_in_threadpool(web.csrf_ok, request, idp, PURPOSE, csrf_token):
        return web.render(
            request, "error.html", {"message": web.texts(request)["error_csrf"]}, status=403
        )
    outcome = await run_in_threadpool(
        lambda: federation.confirm(
            idp,
            token=token,
            browser=request.cookies.get(BROWSER_COOKIE),
            password=password,
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
            handle=request.cookies.get(SSO_COOKIE),
        )
    )
    return await _outcome(request, idp, outcome)


@router.get("/login/upstream/{upstream_id}")
async def start(
    request: Request, idp: IdpDep, upstream_id: str, interaction: str | None = None
) -> Response:
    """Send the browser to the upstream's authorization endpoint (or login page)."""
    return await _start(request, idp, upstream_id, interaction, switch=False)


@router.get("/login/upstream/{upstream_id}/switch")
async def switch(
    request: Request, idp: IdpDep, upstream_id: str, interaction: str | None = None
) -> Response:
    """法人账号切换: to a ticket platform's page choosing an enterprise account."""
    return await _start(request, idp, upstream_id, interaction, switch=True)


async def _start(
    request: Request,
    idp: IdentityProvider,
    upstream_id: str,
    interaction: str | None,
    *,
    switch: bool,
) -> Response:
    browser = request.cookies.get(BROWSER_COOKIE)
    found = idp.interactions.get(interaction, browser=browser)
    if found is None or browser is None or len(upstream_id) > 32:
        return web.render(
            request, "error.html", {"message": web.texts(request)["error_expired"]}, status=400
        )
    try:
        url = await run_in_threadpool(
            lambda: federation.start(
                idp,
                upstream_id=upstream_id,
                browser=browser,
                interaction_id=found.id,
                switch=switch,
            )
        )
    except UpstreamUnavailable:
        return _refused(request, federation.Refused(reason="unavailable"))
    if url is None:
        return _refused(request, federation.Refused(reason="disabled"))
    if isinstance(url, federation.Refused):
        return _refused(request, url)
    return web.see_other(url)


@router.get("/login/upstream/{upstream_id}/callback")
async def callback(request: Request, idp: IdpDep, upstream_id: str) -> Response:
    """The upstream's answer (OIDC Core §3.1.2.5/§3.1.2.6)."""
    params = {
        k: v for k, v in request.query_params.items() if isinstance(v, str) and len(v) <= 4096
    }
    outcome = await run_in_threadpool(
        lambda: federation.finish(
            idp,
            upstream_id=upstream_id[:32],
            params=params,
            browser=request.cookies.get(BROWSER_COOKIE),
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
            handle=request.cookies.get(SSO_COOKIE),
        )
    )
    return await _outcome(request, idp, outcome, detail=params.get("error", "")[:64])


@router.post("/login/upstream/{upstream_id}/backchannel-logout")
async def backchannel_logout(request: Request, idp: IdpDep, upstream_id: str) -> Response:
    """The upstream ends a session (Back-Channel Logout 1.0 §2.5)."""
    headers = {"Cache-Control": "no-store"}
    form = await request.form()
    token = form.get("logout_token")
    if not isinstance(token, str):
        return Response(status_code=400, headers=headers)
    try:
        deliveries = await run_in_threadpool(
            federated_logout.backchannel, idp, upstream_id=upstream_id[:32], token=token
        )
    except federated_logout.LogoutTokenRefused:
        return Response(status_code=400, headers=headers)
    response = Response(status_code=200, headers=headers)
    deliver_after(response, idp, deliveries)
    return response


@router.get("/login/upstream/{upstream_id}/logged-out")
async def logged_out(
    request: Request, idp: IdpDep, upstream_id: str, state: str | None = None
) -> Response:
    """Back from the upstream's logout: on to where our logout was going."""
    then = await run_in_threadpool(federated_logout.after_upstream, idp, state=state)
    if then is not None:
        return web.see_other(then)
    return web.render(request, "logged_out.html", {})
