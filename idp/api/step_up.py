"""The step-up page (``/login/factor``): a signed-in person whose sign-in is too weak for a
request proves what is missing, one method at a time, without signing in again.

Each method has a form posting to its own route; this module holds the page, the password
method, and what every method's route shares (:func:`factor_form`, :func:`factor_verified`,
:func:`factor_failed`). A method's partial template is ``factor_<method>.html``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from idp import first_factor, repository, step_up
from idp.api import web
from idp.api.authorize import (
    _bad_form,
    _expired,
    _interaction,
    _interaction_page,
    _step_response,
)
from idp.api.deps import IdpDep
from idp.api.signed_in import carry_on
from idp.authorization import AuthorizationFlow, ErrorPage, Redirect, ShowFactor, Step
from idp.interactions import Interaction
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
PURPOSE = "factor"
# Our own pages that may ask for a fresh, strong sign-in before a sensitive change.
RETURN_PATHS = ("/account", "/admin/")


def signing(
    idp: IdentityProvider, found: Interaction, handle: str | None
) -> tuple[str | None, SsoSession | None]:
    """The sign-in a factor is proved for: a first factor held in the interaction (no
    session yet: no handle; :mod:`idp.first_factor`), else the browser's SSO session (None
    for either when it has ended or expired)."""
    if found.first_factor is not None:
        first = first_factor.held(found)
        return None, first.as_session() if first is not None else None
    return handle, idp.sessions.get(handle)


def _held_step(idp: IdentityProvider, found: Interaction) -> Step:
    """What a sign-in held in the interaction still needs, decided again."""
    first = first_factor.held(found)
    user = first_factor.person(idp, first) if first is not None else None
    need = (
        AuthorizationFlow(idp).need_beyond(found, user=user, methods=first.methods)
        if user is not None and first is not None
        else None
    )
    if need is None:
        idp.interactions.finish(found)
        return ErrorPage("this sign-in has expired; start again from the app")
    client = idp.client(found.params.get("client_id", ""))
    return ShowFactor(interaction=found, client=client, need=need)


def next_step(idp: IdentityProvider, found: Interaction, handle: str | None) -> Step:
    """Where an interaction goes next: a sign-in held for its second factor to the factor
    page; an app's authorization request continues in :class:`AuthorizationFlow`; a check
    of our own (``return_to``) goes back to its page once
    :func:`idp.step_up.fresh_check` is satisfied."""
    if found.first_factor is not None:
        return _held_step(idp, found)
    if found.return_to is None:
        return AuthorizationFlow(idp).resume(found, handle=handle)
    sso = idp.sessions.get(handle)
    with idp.database.reading() as session:
        user = repository.user(session, sso.user_id) if sso is not None else None
        available = step_up.enrolled(session, user) if user is not None else set()
    if sso is None or user is None or user.disabled:
        idp.interactions.finish(found)
        return ErrorPage("the session ended; sign in again")
    short = step_up.fresh_check(methods=sso.methods, available=available, verified=found.verified)
    if short is None:
        idp.interactions.finish(found)
        return Redirect(found.return_to)
    if not short.options:
        idp.interactions.finish(found)
        return ErrorPage("no sign-in method is available to confirm it is you")
    return ShowFactor(interaction=found, client=None, need=short)


def kept_step(idp: IdentityProvider, found: Interaction, handle: str | None) -> ShowFactor | None:
    """The factor page of an app's request as its last decision left it, while the SSO
    session is the one it was decided for (None: decide again with :func:`next_step`).
    Only for showing the page: a posted factor continues through the whole decision."""
    if found.return_to is not None:
        return None
    need = step_up.Need.still(found.factor_need, signing(idp, found, handle)[1])
    if need is None:
        return None
    return ShowFactor(
        interaction=found, client=idp.client(found.params.get("client_id", "")), need=need
    )


async def go_on(
    request: Request, idp: IdentityProvider, found: Interaction, handle: str | None
) -> Response:
    """Continue the interaction after a step (the next page, the app, or our own page)."""

    def decide() -> Step | Response:
        if request.method != "GET":
            return next_step(idp, found, handle)
        step = kept_step(idp, found, handle) or next_step(idp, found, handle)
        return _page(request, idp, found, step) if isinstance(step, ShowFactor) else step

    outcome = await run_in_threadpool(decide)
    if isinstance(outcome, Response):
        return outcome
    return _step_response(request, idp, outcome, browser=found.browser, new_browser=False)


def _page(
    request: Request,
    idp: IdentityProvider,
    found: Interaction,
    step: ShowFactor,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    extra: dict[str, Any] = {"account_check": found.return_to is not None}
    return _interaction_page(
        request,
        idp,
        found,
        template="factor.html",
        purpose=PURPOSE,
        context=lambda _: {
            "need": step.need,
            "options": step.need.options,
            "error": error,
            **extra,
        },
        status=status,
    )


@router.get("/login/factor")
async def factor_page(request: Request, idp: IdpDep, interaction: str | None = None) -> Response:
    """What the person can still prove to reach the level asked (or on with the request when
    nothing is missing any more)."""
    found = _interaction(request, idp, interaction)
    if found is None:
        return _expired(request)
    return await go_on(request, idp, found, request.cookies.get(SSO_COOKIE))


async def factor_form(
    request: Request, idp: IdentityProvider, interaction_id: str, csrf_token: str
) -> tuple[Interaction, str | None, SsoSession] | Response:
    """The interaction, SSO cookie handle and session of a posted factor form (no handle,
    and the session it would be, for a first factor held in the interaction: see
    :func:`signing`), or the page to show instead (expired interaction, sign-in or session,
    bad CSRF token)."""
    found = _interaction(request, idp, interaction_id)
    if found is None:
        return _expired(request)
    handle, sso = signing(idp, found, request.cookies.get(SSO_COOKIE))
    if sso is None:
        return _expired(request)
    if not await run_in_threadpool(web.csrf_ok, request, idp, PURPOSE, csrf_token):
        return _bad_form(request)
    return found, handle, sso


async def factor_verified(
    request: Request,
    idp: IdentityProvider,
    found: Interaction,
    handle: str | None,
    sso: SsoSession,
    *,
    method: str,
    details: dict[str, object] | None = None,
) -> Response:
    """Add the verified ``method`` to the session (or, with no handle, open the session of
    the sign-in held in the interaction) and continue the request."""
    if handle is None:
        return await _sign_in_completed(request, idp, found, method=method, details=details)

    def add() -> bool:
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
        if user is None or user.disabled:
            return False
        updated = step_up.add_method(
            idp,
            handle=handle,
            user=user,
            method=method,
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
            details=details,
        )
        return updated is not None

    if not await run_in_threadpool(add):
        return _expired(request)
    return await factor_added(request, idp, found, handle)


async def _sign_in_completed(
    request: Request,
    idp: IdentityProvider,
    found: Interaction,
    *,
    method: str,
    details: dict[str, object] | None,
) -> Response:
    first = first_factor.held(found)
    if first is None:
        return _expired(request)
    opened = await run_in_threadpool(
        lambda: first_factor.complete(
            idp,
            found,
            first,
            method=method,
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
            handle=request.cookies.get(SSO_COOKIE),
            details=details,
        )
    )
    if opened is None:
        idp.interactions.finish(found)
        return _expired(request)
    return await carry_on(request, idp, found, opened)


async def factor_added(
    request: Request,
    idp: IdentityProvider,
    found: Interaction,
    handle: str,
    checked: step_up.Checked | None = None,
) -> Response:
    """Continue the request once the method is in the session (``checked``: the outcome of
    :func:`idp.step_up.check_and_add`, which added it; nothing added means the session
    ended meanwhile)."""
    if checked is not None and checked.session is None:
        return _expired(request)
    if found.return_to is not None:
        found.verified = True
        idp.interactions.save(found)
    return await go_on(request, idp, found, handle)


async def factor_failed(
    request: Request, idp: IdentityProvider, found: Interaction, checked: step_up.Checked
) -> Response:
    """The factor page again with why the attempt failed (429 with Retry-After when the
    attempt limit locks the method)."""
    handle = request.cookies.get(SSO_COOKIE)
    step = await run_in_threadpool(
        lambda: kept_step(idp, found, handle) or next_step(idp, found, handle)
    )
    if not isinstance(step, ShowFactor):
        return _step_response(request, idp, step, browser=found.browser, new_browser=False)
    t = web.texts(request)
    if checked.retry_after:
        message = t["login_locked"].format(seconds=checked.retry_after)
        page = await run_in_threadpool(
            lambda: _page(request, idp, found, step, error=message, status=429)
        )
        page.headers["Retry-After"] = str(checked.retry_after)
        return page
    return await run_in_threadpool(
        lambda: _page(request, idp, found, step, error=t["factor_failed"], status=400)
    )


@router.post("/login/factor/password")
async def factor_password(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """The password as the missing factor (after a passkey or code sign-in)."""
    posted = await factor_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found, handle, sso = posted
    checked = await run_in_threadpool(
        lambda: step_up.check_factor(
            idp,
            user_id=sso.user_id,
            method="pwd",
            address=web.address(request),
            verify=lambda: bool(password) and step_up.password_matches(idp, sso.user_id, password),
        )
    )
    if not checked.ok:
        return await factor_failed(request, idp, found, checked)
    return await factor_verified(request, idp, found, handle, sso, method="pwd")


@router.get("/account/verify")
async def account_verify(request: Request, idp: IdpDep, return_to: str = "/account") -> Response:
    """Confirm it is still the person before a sensitive change on one of our own pages
    (their factors, their password): one method proved now, two kinds of factor when they
    have a second factor (:func:`idp.step_up.fresh_check`); then back to ``return_to``."""
    local = return_to.startswith(RETURN_PATHS) and "//" not in return_to and len(return_to) < 200
    if not local:
        return web.render(
            request, "error.html", {"message": web.texts(request)["error_expired"]}, status=400
        )
    handle = request.cookies.get(SSO_COOKIE)
    if idp.sessions.get(handle) is None:
        return web.see_other("/account")
    browser, new = browser_id(request)
    found = idp.interactions.start(browser=browser, params={}, return_to=return_to)
    step = await run_in_threadpool(next_step, idp, found, handle)
    return _step_response(request, idp, step, browser=browser, new_browser=new)
