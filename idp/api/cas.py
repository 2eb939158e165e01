"""CAS 3.0 endpoints for legacy department apps: ``/cas/login``, ``/cas/logout``,
``/cas/serviceValidate`` (2.0), ``/cas/p3/serviceValidate`` (3.0) and their ``proxyValidate``
twins (which accept service tickets only: no proxy tickets are issued).

Security contract: ``/cas/login`` follows :class:`idp.cas.CasLogin` (an unregistered service
gets our error page, never a redirect); validation follows :mod:`idp.cas_validation`
(answers are XML, or JSON with ``format=JSON``, HTTP 200, never cached); ``/cas/logout``
ends the browser's SSO session like the OpenID end-session endpoint (grants revoked, every
OIDC app and every CAS service of the session told over the back channel after the
response) and redirects only to a registered, enabled service URL. As in CAS (§2.3), logout
needs no confirmation: it can only end the browser's own session.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from core.store import StoreUnavailable
from idp import cas, cas_validation, repository
from idp.api import web
from idp.api.authorize import _step_response
from idp.api.deps import IdpDep
from idp.api.logout import propagate
from idp.authorization import ErrorPage
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE

router = APIRouter(prefix="/cas", tags=["cas"], include_in_schema=False)


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    return params


@router.get("/login")
async def login(request: Request, idp: IdpDep) -> Response:
    """§2.1: a ticket at once for a live SSO session, otherwise our sign-in pages."""
    browser, new = browser_id(request)
    try:
        step = await run_in_threadpool(
            cas.CasLogin(idp).start,
            _params(request),
            browser=browser,
            handle=request.cookies.get(SSO_COOKIE),
        )
    except StoreUnavailable:
        t = web.texts(request)
        return web.render(request, "error.html", {"message": t["cas_unavailable"]}, status=503)
    if isinstance(step, ErrorPage):
        t = web.texts(request)
        message = t.get(step.description) or t["cas_bad_request"] + step.description
        response: Response = web.render(request, "error.html", {"message": message}, status=400)
        if new:
            web.set_browser_cookie(response, idp, browser)
        return response
    return _step_response(request, idp, step, browser=browser, new_browser=new)


@router.get("/logout")
async def logout(
    request: Request, idp: IdpDep, service: str | None = None, url: str | None = None
) -> Response:
    """§2.3: end the SSO session; back to ``service`` (CAS 2.0 clients: ``url``) only when
    it is a registered, enabled service URL."""
    target = await run_in_threadpool(_registered, idp, service or url)
    ended = idp.sessions.end(request.cookies.get(SSO_COOKIE))
    response: Response
    if target is not None:
        response = web.see_other(target)
    else:
        response = web.render(request, "logged_out.html", {})
    web.clear_sso_cookie(response, idp)
    if ended is not None:
        await propagate(idp, ended, reason="cas-logout", response=response)
    return response


def _registered(idp: IdentityProvider, service: str | None) -> str | None:
    if not service or len(service) > 2048:
        return None
    with idp.database.reading() as session:
        found = repository.cas_service_by_url(session, service)
        return found.service if found is not None and not found.disabled else None


async def _validate(request: Request, idp: IdentityProvider, version: int) -> Response:
    answer = await run_in_threadpool(
        cas_validation.validate, idp, _params(request), version=version
    )
    return Response(
        content=answer.body,
        media_type=answer.media_type,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


@router.get("/serviceValidate")
@router.get("/proxyValidate")
async def service_validate(request: Request, idp: IdpDep) -> Response:
    """§2.5 (CAS 2.0): the person, no attributes."""
    return await _validate(request, idp, 2)


@router.get("/p3/serviceValidate")
@router.get("/p3/proxyValidate")
async def service_validate_v3(request: Request, idp: IdpDep) -> Response:
    """§2.8 (CAS 3.0): the person and their attributes."""
    return await _validate(request, idp, 3)
