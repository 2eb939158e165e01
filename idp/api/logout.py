"""RP-initiated logout (OIDC RP-Initiated Logout 1.0) and the confirmation page.

Security contract: the request is checked by :func:`idp.logout.validate_request` (an invalid
``id_token_hint`` or an unregistered ``post_logout_redirect_uri`` shows an error page and
never redirects); without a hint that matches the browser's session, the person confirms on
a CSRF-protected form (so no other site can sign them out); logging out ends the SSO
session, revokes its grants and notifies every client over the back channel after the
response is sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from idp import backchannel, federated_logout, logout
from idp.api import web
from idp.api.deps import IdpDep
from idp.authorization import with_query
from idp.logout import LogoutRefused
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
MAX_PARAMETER = 8192


async def propagate(
    idp: IdentityProvider, sso: SsoSession, *, reason: str, response: Response
) -> None:
    """Revoke the ended session's grants now; notify its clients after ``response``."""
    deliveries = await run_in_threadpool(logout.ended, idp, sso, actor=sso.user_id, reason=reason)
    deliver_after(response, idp, deliveries)


def deliver_after(
    response: Response, idp: IdentityProvider, deliveries: list[logout.Delivery]
) -> None:
    """Post back-channel logout tokens once ``response`` has been sent (after any
    background work it already carries)."""
    if not deliveries:
        return
    task = BackgroundTask(backchannel.deliver, idp, deliveries)
    previous = response.background
    if previous is None:
        response.background = task
    else:

        async def both() -> None:
            await previous()
            await task()

        response.background = BackgroundTask(both)


async def _params(request: Request) -> dict[str, str]:
    source = await request.form() if request.method == "POST" else request.query_params
    return {k: v for k, v in source.items() if isinstance(v, str) and v and len(v) <= MAX_PARAMETER}


@router.get("/logout")
@router.post("/logout")
async def end_session(request: Request, idp: IdpDep) -> Response:
    """The end-session endpoint."""
    params = await _params(request)
    try:
        checked = await run_in_threadpool(logout.validate_request, idp, params)
    except LogoutRefused as exc:
        message = web.texts(request)["error_logout"] + str(exc)
        return web.render(request, "error.html", {"message": message}, status=400)
    client_id, uri = checked.client_id, checked.post_logout_redirect_uri
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is not None and (checked.sid is None or checked.sid != sso.sid):
        browser, new = browser_id(request)
        carry = {
            k: v
            for k, v in (
                ("client_id", client_id),
                ("post_logout_redirect_uri", uri),
                ("state", params.get("state")),
            )
            if v
        }
        token = await run_in_threadpool(web.csrf_token, idp, browser, "logout")
        upstream = await run_in_threadpool(federated_logout.end_session_origin, idp, sso)
        targets = tuple(t for t in (web.origin(uri) if uri else None, upstream) if t)
        response = web.render(
            request,
            "logout.html",
            {"csrf_token": token, "carry": carry},
            form_targets=targets,
        )
        if new:
            web.set_browser_cookie(response, idp, browser)
        return response
    return await _finish(request, idp, uri=uri, state=params.get("state"))


@router.post("/logout/confirm")
async def confirm(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    post_logout_redirect_uri: Annotated[str | None, Form(max_length=512)] = None,
    state: Annotated[str | None, Form(max_length=MAX_PARAMETER)] = None,
) -> Response:
    """The person confirmed the logout."""
    if not await run_in_threadpool(web.csrf_ok, request, idp, "logout", csrf_token):
        return web.render(
            request, "error.html", {"message": web.texts(request)["error_csrf"]}, status=403
        )
    params = {
        k: v
        for k, v in (
            ("client_id", client_id),
            ("post_logout_redirect_uri", post_logout_redirect_uri),
        )
        if v
    }
    try:
        checked = await run_in_threadpool(logout.validate_request, idp, params)
    except LogoutRefused as exc:
        message = web.texts(request)["error_logout"] + str(exc)
        return web.render(request, "error.html", {"message": message}, status=400)
    return await _finish(request, idp, uri=checked.post_logout_redirect_uri, state=state)


async def _finish(
    request: Request, idp: IdentityProvider, *, uri: str | None, state: str | None
) -> Response:
    ended = idp.sessions.end(request.cookies.get(SSO_COOKIE))
    then = with_query(uri, {"state": state}) if uri is not None else None
    upstream = (
        await run_in_threadpool(federated_logout.end_session_url, idp, ended, then=then or "")
        if ended is not None
        else None
    )
    response: Response
    if upstream is not None:  # a session from an upstream: its logout too, then back
        response = web.see_other(upstream)
    elif then is not None:
        response = web.see_other(then)
    else:
        response = web.render(request, "logged_out.html", {})
    web.clear_sso_cookie(response, idp)
    if ended is not None:
        await propagate(idp, ended, reason="rp-initiated", response=response)
    return response
