"""The authorization endpoint and its pages: sign-in, organisation choice, consent."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from core.csrf import BROWSER_COOKIE
from idp import agents, device_cookies, first_factor
from idp.api import page_parts, web
from idp.api.deps import IdpDep
from idp.authorization import (
    AuthorizationFlow,
    ErrorPage,
    Redirect,
    ShowConsent,
    ShowFactor,
    ShowLogin,
    ShowOrganisation,
    Step,
)
from idp.interactions import Interaction
from idp.login import Failed, Opened, check_password, open_session
from idp.models import Client
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)


def _step_response(
    request: Request, idp: IdentityProvider, step: Step, *, browser: str, new_browser: bool
) -> Response:
    response: Response
    if isinstance(step, Redirect):
        status = 303 if request.method == "POST" else 302
        response = Response(status_code=status, headers={"Location": step.location})
    elif isinstance(step, ErrorPage):
        # A CAS step names its message by key (idp.cas); an OIDC step describes it in English.
        message = web.texts(request).get(step.description, step.description)
        response = web.render(request, "error.html", {"message": message}, status=400)
    else:
        pages = {
            ShowLogin: "/login",
            ShowOrganisation: "/login/organisation",
            ShowFactor: "/login/factor",
            ShowConsent: "/consent",
        }
        response = web.see_other(f"{pages[type(step)]}?interaction={step.interaction.id}")
    if new_browser:
        web.set_browser_cookie(response, idp, browser)
    return response


def _params(request: Request, form: dict[str, str] | None = None) -> dict[str, str] | ErrorPage:
    source = form if form is not None else request.query_params
    items = source.multi_items() if hasattr(source, "multi_items") else list(source.items())
    params: dict[str, str] = {}
    for key, value in items:
        if key in params:  # RFC 6749 §3.1: parameters must not be included more than once
            return ErrorPage(f"the parameter {key} appears more than once")
        if not isinstance(value, str) or len(value) > 4096:
            return ErrorPage(f"the parameter {key} is not a short text value")
        if value != "":
            params[key] = value
    return params


@router.get("/authorize")
async def authorize(request: Request, idp: IdpDep) -> Response:
    """OIDC Core §3.1.2.1 (GET)."""
    return await _authorize(request, idp, _params(request))


@router.post("/authorize")
async def authorize_post(request: Request, idp: IdpDep) -> Response:
    """OIDC Core §3.1.2.1 (POST, form-encoded)."""
    form = await request.form()
    return await _authorize(request, idp, _params(request, form))  # type: ignore[arg-type]


async def _authorize(
    request: Request, idp: IdentityProvider, params: dict[str, str] | ErrorPage
) -> Response:
    browser, new = browser_id(request)
    if isinstance(params, ErrorPage):
        return _step_response(request, idp, params, browser=browser, new_browser=new)
    flow = AuthorizationFlow(idp)
    step = await run_in_threadpool(
        flow.start, params, browser=browser, handle=request.cookies.get(SSO_COOKIE)
    )
    return _step_response(request, idp, step, browser=browser, new_browser=new)


def _interaction(
    request: Request, idp: IdentityProvider, interaction_id: str | None
) -> Interaction | None:
    return idp.interactions.get(interaction_id, browser=request.cookies.get(BROWSER_COOKIE))


def _expired(request: Request) -> HTMLResponse:
    return web.render(
        request, "error.html", {"message": web.texts(request)["error_expired"]}, status=400
    )


def _bad_form(request: Request) -> HTMLResponse:
    return web.render(
        request, "error.html", {"message": web.texts(request)["error_csrf"]}, status=403
    )


async def _resume(
    request: Request, idp: IdentityProvider, interaction: Interaction, handle: str | None
) -> Response:
    return await run_in_threadpool(_resumed, request, idp, interaction, handle)


def _resumed(
    request: Request, idp: IdentityProvider, interaction: Interaction, handle: str | None
) -> Response:
    """Where the interaction goes on to (blocking: call from a worker thread)."""
    back = interaction.return_to
    if back is not None and back.startswith("/qr/") and idp.sessions.get(handle) is not None:
        # A phone signing in on its way to a QR sign-in's approval page: back there.
        idp.interactions.finish(interaction)
        return web.see_other(back)
    step = AuthorizationFlow(idp).resume(interaction, handle=handle)
    return _step_response(request, idp, step, browser=interaction.browser, new_browser=False)


def _interaction_page(
    request: Request,
    idp: IdentityProvider,
    interaction: Interaction,
    *,
    template: str,
    purpose: str,
    context: Callable[[Client | None], dict[str, Any]],
    status: int = 200,
) -> HTMLResponse:
    """One of the interaction's pages, with its client's name, the form's CSRF token and
    the client's origin allowed as a form target (the form ends in a redirect there)."""
    client_id = interaction.params.get("client_id", "")
    client = idp.client(client_id) if client_id else None  # for showing only: seconds old
    # The form ends in a redirect to the app (a CAS service's URL for a CAS sign-in).
    redirect = interaction.params.get("redirect_uri") or interaction.params.get("cas_service")
    return web.render(
        request,
        template,
        {
            "interaction": interaction.id,
            "csrf_token": web.csrf_token(idp, interaction.browser, purpose),
            "client_name": client.name if client else interaction.params.get("cas_name", client_id),
            **context(client),
        },
        status=status,
        form_targets=(web.origin(redirect),) if redirect else (),
    )


async def _signed_in_form(
    request: Request, idp: IdentityProvider, interaction_id: str, *, purpose: str, csrf_token: str
) -> tuple[Interaction, str, SsoSession] | Response:
    """The interaction, SSO cookie handle and session of a form posted by a signed-in
    person, or the page to show instead (expired, or a bad CSRF token)."""
    found = _interaction(request, idp, interaction_id)
    handle = request.cookies.get(SSO_COOKIE)
    sso = idp.sessions.get(handle)
    if found is None or sso is None or handle is None:
        return _expired(request)
    if not await run_in_threadpool(web.csrf_ok, request, idp, purpose, csrf_token):
        return _bad_form(request)
    return found, handle, sso


@router.get("/login")
async def login_page(request: Request, idp: IdpDep, interaction: str | None = None) -> Response:
    """The sign-in form of an interaction."""
    found = _interaction(request, idp, interaction)
    if found is None:
        return _expired(request)
    return await run_in_threadpool(_login_form, request, idp, found, "", None, 200)


def _login_form(
    request: Request,
    idp: IdentityProvider,
    interaction: Interaction,
    login: str,
    error: str | None,
    status: int,
) -> HTMLResponse:
    return _interaction_page(
        request,
        idp,
        interaction,
        template="login.html",
        purpose="login",
        context=lambda _: {
            "login": login,
            "error": error,
            "parts": page_parts.login_parts(request, idp, interaction),
        },
        status=status,
    )


@router.post("/login")
async def login_submit(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    login: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Check the credentials; on success continue the authorization request."""
    found = _interaction(request, idp, interaction)
    if found is None:
        return _expired(request)
    address, user_agent = web.address(request), request.headers.get("user-agent", "")

    def attempt() -> Response | tuple[Response, Opened]:
        # The whole sign-in in one worker thread: each hop between the event loop and the
        # pool costs both a wake-up, and this request used to make five.
        if not web.csrf_ok(request, idp, "login", csrf_token):
            return _bad_form(request)
        t = web.texts(request)
        if not login or not password:
            return _login_form(request, idp, found, login, t["login_failed"], 400)
        checked = check_password(
            idp,
            login=login,
            password=password,
            address=address,
            device_cookie=request.cookies.get(device_cookies.COOKIE),
        )
        if isinstance(checked, Failed):
            refusal = checked.refusal
            if refusal is None:
                message, status = t["login_failed"], 400
            else:
                key = "address_locked" if refusal.scope == "address" else "login_locked"
                message, status = t[key].format(seconds=refusal.retry_after), 429
            page = _login_form(request, idp, found, login, message, status)
            if refusal is not None:
                page.headers["Retry-After"] = str(refusal.retry_after)
            return page
        # A request that needs a second factor gets it before any session opens.
        held = first_factor.hold(
            idp, found, user=checked.user, methods=["pwd"], address=address, user_agent=user_agent
        )
        if held is not None:
            response = _step_response(request, idp, held, browser=found.browser, new_browser=False)
            web.set_device_cookie(response, idp, checked.device_cookie)
            return response
        opened = open_session(
            idp,
            user=checked.user,
            methods=["pwd"],
            address=address,
            user_agent=user_agent,
            handle=request.cookies.get(SSO_COOKIE),
        )
        found.login_at = opened.session.auth_time
        found.first_factor = None  # someone else's password held here before no longer counts
        idp.interactions.save(found)
        response = _resumed(request, idp, found, opened.handle)
        web.set_sso_cookie(response, idp, opened.handle)
        web.set_device_cookie(response, idp, checked.device_cookie)
        return response, opened

    result = await run_in_threadpool(attempt)
    if isinstance(result, Response):
        return result
    response, opened = result
    if opened.ended is not None:
        from idp.api.logout import propagate

        await propagate(idp, opened.ended, reason="replaced", response=response)
    return response


@router.get("/login/organisation")
async def organisation_page(
    request: Request, idp: IdpDep, interaction: str | None = None
) -> Response:
    """Choose the organisation to act for (or oneself)."""
    found = _interaction(request, idp, interaction)
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if found is None or sso is None:
        return _expired(request)

    def build() -> HTMLResponse:
        with idp.database.reading() as session:
            choices = agents.choices(
                session, user_id=sso.user_id, client_id=found.params.get("client_id", "")
            )
        return _interaction_page(
            request,
            idp,
            found,
            template="organisation.html",
            purpose="organisation",
            context=lambda _: {"choices": choices},
        )

    return await run_in_threadpool(build)


@router.post("/login/organisation")
async def organisation_submit(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    organisation: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Record whom the person acts for in the SSO session, then continue."""
    posted = await _signed_in_form(
        request, idp, interaction, purpose="organisation", csrf_token=csrf_token
    )
    if isinstance(posted, Response):
        return posted
    found, handle, sso = posted
    picked: agents.Choice | None = None
    if organisation:
        with idp.database.reading() as session:
            offered = agents.choices(
                session, user_id=sso.user_id, client_id=found.params.get("client_id", "")
            )
        picked = next((c for c in offered if c.value == organisation), None)
        if picked is None:  # not a membership, nor a current authorisation for this app
            return _bad_form(request)
    chosen = picked.organisation.id if picked else None
    authorisation_id = picked.authorisation_id if picked else None

    def choose(session: SsoSession) -> None:
        session.organisation_id, session.organisation_chosen = chosen, True
        session.agent_authorisation_id = authorisation_id

    idp.sessions.update(handle, choose)
    found.organisation_chosen = True
    idp.interactions.save(found)
    return await _resume(request, idp, found, handle)


@router.get("/consent")
async def consent_page(request: Request, idp: IdpDep, interaction: str | None = None) -> Response:
    """Ask the person to allow the client the requested scopes."""
    found = _interaction(request, idp, interaction)
    if found is None or idp.sessions.get(request.cookies.get(SSO_COOKIE)) is None:
        return _expired(request)
    requested = [s for s in dict.fromkeys(found.params.get("scope", "").split()) if s]

    def build() -> HTMLResponse:
        return _interaction_page(
            request,
            idp,
            found,
            template="consent.html",
            purpose="consent",
            context=lambda client: {
                "scopes": [s for s in requested if client is not None and s in client.scopes]
            },
        )

    return await run_in_threadpool(build)


@router.post("/consent")
async def consent_submit(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    decision: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Record the decision (an audit event either way), then continue or refuse."""
    posted = await _signed_in_form(
        request, idp, interaction, purpose="consent", csrf_token=csrf_token
    )
    if isinstance(posted, Response):
        return posted
    found, handle, sso = posted
    step = await run_in_threadpool(
        AuthorizationFlow(idp).consent, found, sso, handle=handle, allow=decision == "allow"
    )
    return _step_response(request, idp, step, browser=found.browser, new_browser=False)


@router.get("/authorize/resume")
async def resume(request: Request, idp: IdpDep, interaction: str | None = None) -> Response:
    """Continue an interaction (e.g. after the language was switched mid-way)."""
    found = _interaction(request, idp, interaction)
    if found is None:
        return _expired(request)
    return await _resume(request, idp, found, request.cookies.get(SSO_COOKIE))
