"""Passkey routes: passwordless sign-in (``/login/passkey``), the step-up method
(``/login/factor/passkey-uv``) and adding a passkey on the account page
(``/account/passkeys``).

Each ceremony is two JSON calls from ``idp/static/passkeys.js``: ``…/options`` (the
challenge, as WebAuthn options) then the credential itself, answered with ``{"redirect":
…}`` where the browser goes next, or a problem document. Both calls carry the page's CSRF
token in the JSON body.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.csrf import BROWSER_COOKIE
from core.errors import Problem
from idp import passkey_flows, passkeys, repository, step_up
from idp.api import page_parts, web
from idp.api.authorize import _interaction, _resume
from idp.api.deps import IdpDep
from idp.api.step_up import PURPOSE as FACTOR_PURPOSE
from idp.api.step_up import factor_verified, next_step, signing
from idp.authorization import ShowFactor
from idp.interactions import Interaction
from idp.login import open_session
from idp.models import User
from idp.passkey_flows import Refused
from idp.passkeys import PasskeyError
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
# The person's own check before adding a passkey (idp.step_up.recently_strong).
VERIFY_FIRST = "/account/verify?return_to=/account"
MAX_BODY = 64 * 1024


class _Body(BaseModel):
    """What the passkey script posts."""

    model_config = ConfigDict(strict=True, extra="forbid")

    csrf_token: str = Field(default="", max_length=100)
    interaction: str = Field(default="", max_length=64)
    name: str = Field(default="", max_length=64)
    credential: dict[str, Any] | None = None


def _problem(status: int, kind: str, title: str, **extensions: Any) -> Problem:
    return Problem(status=status, kind=f"passkey-{kind}", title=title, **extensions)


async def _body(request: Request) -> _Body:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise _problem(413, "too-large", "The request is too large")
    try:
        return _Body.model_validate(json.loads(raw or b"{}"))
    except (ValueError, ValidationError):
        raise _problem(400, "malformed", "Not what the passkey script sends") from None


async def _csrf(request: Request, idp: IdentityProvider, purpose: str, body: _Body) -> None:
    if not await run_in_threadpool(web.csrf_ok, request, idp, purpose, body.csrf_token):
        raise _problem(403, "expired", "The page has expired; reload it")


def _credential(body: _Body) -> dict[str, Any]:
    if body.credential is None:
        raise _problem(400, "malformed", "No credential was sent")
    return body.credential


def _options(options_json: str) -> Response:
    return Response(options_json, media_type="application/json", headers=_NO_STORE)


def _go(location: str) -> JSONResponse:
    return JSONResponse({"redirect": location}, headers=_NO_STORE)


_NO_STORE = {"Cache-Control": "no-store"}


def _refused(refused: Refused) -> Problem:
    if refused.retry_after:
        return _problem(
            429,
            "locked",
            "Too many attempts",
            headers={"Retry-After": str(refused.retry_after)},
            retry_after=refused.retry_after,
        )
    if refused.reason == "challenge":
        return _problem(400, "challenge", "The challenge expired or was already used")
    return _problem(400, "refused", "The passkey was not accepted", reason=refused.reason)


def _outcome(response: Response, fallback: str) -> JSONResponse:
    """Where the browser goes after a ceremony: the redirect a page flow answered, or (for a
    page rendered in place, an error say) the page that shows it again."""
    location = response.headers.get("location")
    answer = _go(location or fallback)
    for name, value in response.headers.items():
        if name == "set-cookie":
            answer.headers.append(name, value)
    answer.background = response.background
    return answer


# --- passwordless sign-in -------------------------------------------------------------


@page_parts.login_part(20, "login_passkey.html")
def _login_part(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> dict[str, Any] | None:
    return {} if passkey_flows.available(idp) else None


def _sign_in_interaction(request: Request, idp: IdentityProvider, body: _Body) -> Interaction:
    found = _interaction(request, idp, body.interaction)
    if found is None:
        raise _problem(400, "expired", "This sign-in has expired; start again from the app")
    return found


@router.post("/login/passkey/options")
async def sign_in_options(request: Request, idp: IdpDep) -> Response:
    """A challenge for a passwordless sign-in (any of the browser's passkeys for us; user
    verification required: a passwordless sign-in must be two factors)."""
    body = await _body(request)
    found = _sign_in_interaction(request, idp, body)
    await _csrf(request, idp, "login", body)
    options = await run_in_threadpool(
        lambda: passkey_flows.assertion_options(
            idp,
            ceremony="sign-in",
            browser=found.browser,
            verification="required",
            interaction=found.id,
        )
    )
    return _options(options)


@router.post("/login/passkey")
async def sign_in(request: Request, idp: IdpDep) -> Response:
    """Sign in with a passkey (no password): the session is opened with ``passkey-uv``,
    then the authorization request continues like after the password form."""
    body = await _body(request)
    found = _sign_in_interaction(request, idp, body)
    await _csrf(request, idp, "login", body)
    credential = _credential(body)
    address = web.address(request)

    def check() -> tuple[User, passkeys.Asserted] | Refused:
        asserted = passkey_flows.check_assertion(
            idp,
            credential=credential,
            ceremony="sign-in",
            browser=request.cookies.get(BROWSER_COOKIE),
            interaction=found.id,
            address=address,
        )
        if isinstance(asserted, Refused):
            return asserted
        with idp.database.reading() as session:
            user = repository.user(session, asserted.user_id)
        if user is None or user.disabled:
            return Refused("disabled")
        return user, asserted

    checked = await run_in_threadpool(check)
    if isinstance(checked, Refused):
        raise _refused(checked)
    user, asserted = checked
    opened = await run_in_threadpool(
        lambda: open_session(
            idp,
            user=user,
            methods=[asserted.method],
            address=address,
            user_agent=request.headers.get("user-agent", ""),
            handle=request.cookies.get(SSO_COOKIE),
            details={"method": "passkey", "authenticator": asserted.authenticator_id},
        )
    )
    found.login_at = opened.session.auth_time
    idp.interactions.save(found)
    page = await _resume(request, idp, found, opened.handle)
    answer = _outcome(page, f"/authorize/resume?interaction={found.id}")
    web.set_sso_cookie(answer, idp, opened.handle)
    if opened.ended is not None:
        from idp.api.logout import propagate

        await propagate(idp, opened.ended, reason="replaced", response=answer)
    return answer


# --- step-up --------------------------------------------------------------------------


async def _factor(
    request: Request, idp: IdentityProvider, body: _Body
) -> tuple[Interaction, str | None, SsoSession]:
    """As :func:`idp.api.step_up.factor_form` (no handle: a sign-in held for its second
    factor), for the passkey ceremony's JSON requests."""
    found = _interaction(request, idp, body.interaction)
    handle, sso = signing(idp, found, request.cookies.get(SSO_COOKIE)) if found else (None, None)
    if found is None or sso is None:
        raise _problem(400, "expired", "This sign-in has expired; start again from the app")
    await _csrf(request, idp, FACTOR_PURPOSE, body)
    return found, handle, sso


@router.post("/login/factor/passkey-uv/options")
async def step_up_options(request: Request, idp: IdpDep) -> Response:
    """A challenge for the person's own passkeys as the missing factor (user verification
    required when the level asked is 4, preferred otherwise)."""
    body = await _body(request)
    found, handle, sso = await _factor(request, idp, body)

    def issue() -> str | None:
        step = next_step(idp, found, handle)
        if not isinstance(step, ShowFactor) or "passkey-uv" not in step.need.options:
            return None
        return passkey_flows.assertion_options(
            idp,
            ceremony="step-up",
            browser=found.browser,
            verification="required" if step.need.target >= 4 else "preferred",
            interaction=found.id,
            sso=sso,
        )

    issued = await run_in_threadpool(issue)
    if issued is None:
        raise _problem(400, "not-offered", "A passkey is not asked for here")
    return _options(issued)


@router.post("/login/factor/passkey-uv")
async def step_up_verify(request: Request, idp: IdpDep) -> Response:
    """One of the person's passkeys as the missing factor: ``passkey-uv`` when the
    authenticator verified the person, ``passkey`` otherwise."""
    body = await _body(request)
    found, handle, sso = await _factor(request, idp, body)
    credential = _credential(body)
    checked = await run_in_threadpool(
        lambda: passkey_flows.check_assertion(
            idp,
            credential=credential,
            ceremony="step-up",
            browser=request.cookies.get(BROWSER_COOKIE),
            interaction=found.id,
            address=web.address(request),
            sso=sso,
        )
    )
    if isinstance(checked, Refused):
        raise _refused(checked)
    page = await factor_verified(
        request,
        idp,
        found,
        handle,
        sso,
        method=checked.method,
        details={"authenticator": checked.authenticator_id},
    )
    return _outcome(page, f"/login/factor?interaction={found.id}")


# --- the account page -----------------------------------------------------------------


@page_parts.account_part(30, "account_passkeys.html")
def _account_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any] | None:
    if not passkey_flows.available(idp):
        return None
    strong = step_up.recently_strong(sso, available=step_up.enrolled(session, user))
    return {
        "strong": strong,
        "verify_first": VERIFY_FIRST,
        "added": request.query_params.get("passkey") == "added",
    }


async def _account(request: Request, idp: IdentityProvider, body: _Body) -> SsoSession:
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None:
        raise _problem(401, "signed-out", "Sign in first", redirect="/account")
    await _csrf(request, idp, "account", body)
    if not await run_in_threadpool(passkey_flows.may_enrol, idp, sso):
        raise _problem(
            403, "verify-first", "Confirm it is you before adding a passkey", redirect=VERIFY_FIRST
        )
    return sso


@router.post("/account/passkeys/options")
async def register_options(request: Request, idp: IdpDep) -> Response:
    """A challenge to create a discoverable credential for the signed-in person (after a
    recent, strong sign-in; otherwise the problem names the check to go through)."""
    body = await _body(request)
    sso = await _account(request, idp, body)
    browser = request.cookies.get(BROWSER_COOKIE) or ""
    try:
        options = await run_in_threadpool(
            lambda: passkey_flows.registration_options(idp, sso=sso, browser=browser)
        )
    except PasskeyError as exc:
        raise _refused(Refused(exc.reason)) from None
    return _options(options)


@router.post("/account/passkeys")
async def register(request: Request, idp: IdpDep) -> Response:
    """Store the new passkey (a ``passkey.registered`` audit event) and go back to the
    account page."""
    body = await _body(request)
    sso = await _account(request, idp, body)
    credential = _credential(body)
    refused = await run_in_threadpool(
        lambda: passkey_flows.enrol(
            idp,
            sso=sso,
            browser=request.cookies.get(BROWSER_COOKIE),
            credential=credential,
            name=body.name,
            address=web.address(request),
        )
    )
    if refused is not None:
        raise _refused(refused)
    return _go("/account?passkey=added")
