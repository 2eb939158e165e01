"""RP-initiated logout (OIDC RP-Initiated Logout 1.0) and the confirmation page.

Security contract: an invalid ``id_token_hint`` or an unregistered
``post_logout_redirect_uri`` shows an error page and never redirects; without a hint that
matches the browser's session, the person confirms on a CSRF-protected form (so no other
site can sign them out); logging out ends the SSO session, revokes its grants and notifies
every client over the back channel after the response is sent.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from idp import backchannel, logout, repository
from idp.api import web
from idp.authorization import with_query
from idp.protocol import id_token_hint
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
MAX_PARAMETER = 8192


class LogoutRefused(ValueError):
    """The logout request cannot be honoured; shown on our page."""


async def propagate(request: Request, sso: SsoSession, *, reason: str, response: Response) -> None:
    """Revoke the ended session's grants now; notify its clients after ``response``."""
    idp = web.idp_of(request)
    deliveries = await run_in_threadpool(logout.ended, idp, sso, actor=sso.user_id, reason=reason)
    if not deliveries:
        return
    state = request.app.state
    task = BackgroundTask(
        backchannel.deliver,
        idp,
        deliveries,
        transport=getattr(state, "backchannel_transport", None),
        delays=getattr(state, "backchannel_delays", backchannel.DELAYS),
    )
    previous = response.background
    if previous is None:
        response.background = task
    else:

        async def both() -> None:
            await previous()
            await task()

        response.background = BackgroundTask(both)


def _validated(
    request: Request, params: dict[str, str]
) -> tuple[str | None, str | None, str | None]:
    """(client_id, post_logout_redirect_uri, hinted sid) after the spec's checks."""
    idp = web.idp_of(request)
    client_id = params.get("client_id")
    uri = params.get("post_logout_redirect_uri")
    sid = None
    if hint_token := params.get("id_token_hint"):
        try:
            hint = id_token_hint.check(hint_token, verifier=idp.tokens)
        except id_token_hint.InvalidHint as exc:
            raise LogoutRefused(f"id_token_hint: {exc}") from None
        if client_id is not None and client_id != hint.client_id:
            raise LogoutRefused("client_id differs from the id_token_hint's client")
        client_id, sid = hint.client_id, hint.sid
    if uri is not None:
        if client_id is None:
            raise LogoutRefused("post_logout_redirect_uri needs id_token_hint or client_id")
        with idp.database.reading() as session:
            client = repository.client(session, client_id)
        if client is None or client.disabled or uri not in client.post_logout_redirect_uris:
            raise LogoutRefused("post_logout_redirect_uri is not registered for the client")
    return client_id, uri, sid


async def _params(request: Request) -> dict[str, str]:
    source = await request.form() if request.method == "POST" else request.query_params
    return {k: v for k, v in source.items() if isinstance(v, str) and v and len(v) <= MAX_PARAMETER}


@router.get("/logout")
@router.post("/logout")
async def end_session(request: Request) -> Response:
    """The end-session endpoint."""
    idp = web.idp_of(request)
    params = await _params(request)
    try:
        client_id, uri, sid = await run_in_threadpool(_validated, request, params)
    except LogoutRefused as exc:
        message = web.texts(request)["error_logout"] + str(exc)
        return web.render(request, "error.html", {"message": message}, status=400)
    handle = request.cookies.get(SSO_COOKIE)
    sso = idp.sessions.get(handle)
    if sso is not None and (sid is None or sid != sso.sid):
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
        response = web.render(
            request,
            "logout.html",
            {"csrf_token": token, "carry": carry},
            form_targets=(web.origin(uri),) if uri else (),
        )
        if new:
            web.set_browser_cookie(response, idp, browser)
        return response
    return await _finish(request, uri=uri, state=params.get("state"))


@router.post("/logout/confirm")
async def confirm(
    request: Request,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    client_id: Annotated[str | None, Form(max_length=64)] = None,
    post_logout_redirect_uri: Annotated[str | None, Form(max_length=512)] = None,
    state: Annotated[str | None, Form(max_length=MAX_PARAMETER)] = None,
) -> Response:
    """The person confirmed the logout."""
    idp = web.idp_of(request)
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
        _, uri, _ = await run_in_threadpool(_validated, request, params)
    except LogoutRefused as exc:
        message = web.texts(request)["error_logout"] + str(exc)
        return web.render(request, "error.html", {"message": message}, status=400)
    return await _finish(request, uri=uri, state=state)


async def _finish(request: Request, *, uri: str | None, state: str | None) -> Response:
    idp = web.idp_of(request)
    ended = idp.sessions.end(request.cookies.get(SSO_COOKIE))
    response: Response
    if uri is not None:
        response = web.see_other(with_query(uri, {"state": state}))
    else:
        response = web.render(request, "logged_out.html", {})
    web.clear_sso_cookie(response, idp)
    if ended is not None:
        await propagate(request, ended, reason="rp-initiated", response=response)
    return response
