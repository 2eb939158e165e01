"""Passkey routes: passwordless sign-in (``/login/passkey``), the step-up method
(``/login/factor/passkey-uv``) and adding a passkey on the account page
(``/account/passkeys``).

Each ceremony is two JSON calls from ``idp/static/passkeys.js``: ``…/options`` (the
challenge, as WebAuthn options) then the credential itself, answered with ``{"redirect":
…}`` where the browser goes next, or a problem document. Both calls carry the page's CSRF
token in the JSON body.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.csrf import BROWSER_COOKIE
from core.errors import Problem
from idp import passkeys, repository, step_up
from idp.api import page_parts, web
from idp.api.authorize import _interaction, _resume
from idp.api.deps import IdpDep
from idp.api.step_up import PURPOSE as FACTOR_PURPOSE
from idp.api.step_up import factor_verified, next_step
from idp.authorization import ShowFactor
from idp.interactions import Interaction
from idp.login import open_session
from idp.models import User
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


def _refused(error: PasskeyError) -> Problem:
    if error.reason == "challenge":
        return _problem(400, "challenge", "The challenge expired or was already used")
    return _problem(400, "refused", "The passkey was not accepted", reason=error.reason)


def _locked(retry_after: int) -> Problem:
    return _problem(
        429,
        "locked",
        "Too many attempts",
        headers={"Retry-After": str(retry_after)},
        retry_after=retry_after,
    )


def _rp(idp: IdentityProvider) -> passkeys.RelyingParty:
    return passkeys.relying_party(idp.issuer)


def available(idp: IdentityProvider) -> bool:
    """Whether browsers can use passkeys with us: WebAuthn needs a host name, not an IP."""
    try:
        ipaddress.ip_address(_rp(idp).rp_id.strip("[]"))
    except ValueError:
        return True
    return False


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


def _take(
    request: Request,
    idp: IdentityProvider,
    credential: dict[str, Any],
    *,
    ceremony: passkeys.Ceremony,
    sid: str | None = None,
    interaction: str | None = None,
) -> passkeys.Challenge:
    try:
        return passkeys.take_challenge(
            idp.store,
            credential,
            ceremony=ceremony,
            browser=request.cookies.get(BROWSER_COOKIE),
            sid=sid,
            interaction=interaction,
        )
    except PasskeyError as exc:
        raise _refused(exc) from None


# --- passwordless sign-in -------------------------------------------------------------


@page_parts.login_part(20, "login_passkey.html")
def _login_part(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> dict[str, Any] | None:
    return {} if available(idp) else None


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

    def issue() -> str:
        challenge = passkeys.issue_challenge(
            idp.store,
            ceremony="sign-in",
            browser=found.browser,
            verification="required",
            interaction=found.id,
        )
        return passkeys.authentication_options(rp=_rp(idp), challenge=challenge)

    return _options(await run_in_threadpool(issue))


@router.post("/login/passkey")
async def sign_in(request: Request, idp: IdpDep) -> Response:
    """Sign in with a passkey (no password): the session is opened with ``passkey-uv``,
    then the authorization request continues like after the password form."""
    body = await _body(request)
    found = _sign_in_interaction(request, idp, body)
    await _csrf(request, idp, "login", body)
    credential = _credential(body)
    address = web.address(request)

    def check() -> tuple[User, passkeys.Asserted] | Problem:
        challenge = _take(request, idp, credential, ceremony="sign-in", interaction=found.id)
        with idp.database.reading() as session:
            owner = passkeys.credential_owner(session, credential)
        if owner is None:
            with idp.database.transaction() as session:
                idp.events.record(
                    session,
                    type="login.failed",
                    actor="anonymous",
                    subject="unknown-account",
                    details={"address": address, "method": "passkey", "reason": "unknown"},
                )
            return _problem(400, "refused", "The passkey was not accepted", reason="unknown")
        asserted = _assert(idp, credential, challenge, address=address, owner=owner)
        if isinstance(asserted, Problem):
            return asserted
        with idp.database.reading() as session:
            user = repository.user(session, asserted.user_id)
        if user is None or user.disabled:
            return _problem(400, "refused", "The passkey was not accepted", reason="disabled")
        return user, asserted

    checked = await run_in_threadpool(check)
    if isinstance(checked, Problem):
        raise checked
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


def _assert(
    idp: IdentityProvider,
    credential: dict[str, Any],
    challenge: passkeys.Challenge,
    *,
    address: str,
    owner: str,
    step_up_of: str | None = None,
) -> passkeys.Asserted | Problem:
    """Check the assertion under the passkey attempt limits (a failure is a
    ``login.factor_failed`` audit event; a counter regression also its own)."""
    asserted: passkeys.Asserted | None = None
    error = PasskeyError("invalid", "the passkey was not accepted")
    details: dict[str, object] = {"reason": error.reason}  # filled in before it is recorded

    def verify() -> bool:
        nonlocal asserted, error
        with idp.database.transaction() as session:
            try:
                asserted = passkeys.authenticate(
                    session,
                    rp=_rp(idp),
                    events=idp.events,
                    credential=credential,
                    challenge=challenge,
                    address=address,
                    user_id=step_up_of,
                )
            except PasskeyError as exc:  # committed: a counter regression is recorded
                error = exc
                details["reason"] = exc.reason
        return asserted is not None

    checked = step_up.check_factor(
        idp,
        user_id=owner,
        method="passkey",
        address=address,
        verify=verify,
        details=details,
    )
    if checked.ok and asserted is not None:
        return asserted
    return _locked(checked.retry_after) if checked.retry_after else _refused(error)


# --- step-up --------------------------------------------------------------------------


async def _factor(
    request: Request, idp: IdentityProvider, body: _Body
) -> tuple[Interaction, str, SsoSession]:
    found = _interaction(request, idp, body.interaction)
    handle = request.cookies.get(SSO_COOKIE)
    sso = idp.sessions.get(handle)
    if found is None or sso is None or handle is None:
        raise _problem(400, "expired", "This sign-in has expired; start again from the app")
    await _csrf(request, idp, FACTOR_PURPOSE, body)
    return found, handle, sso


@router.post("/login/factor/passkey-uv/options")
async def step_up_options(request: Request, idp: IdpDep) -> Response:
    """A challenge for the person's own passkeys as the missing factor (user verification
    required when the level asked is 4, preferred otherwise)."""
    body = await _body(request)
    found, handle, sso = await _factor(request, idp, body)

    def issue() -> str | Problem:
        step = next_step(idp, found, handle)
        if not isinstance(step, ShowFactor) or "passkey-uv" not in step.need.options:
            return _problem(400, "not-offered", "A passkey is not asked for here")
        with idp.database.reading() as session:
            mine = passkeys.passkeys_of(session, sso.user_id)
        challenge = passkeys.issue_challenge(
            idp.store,
            ceremony="step-up",
            browser=found.browser,
            verification="required" if step.need.target >= 4 else "preferred",
            sid=sso.sid,
            user_id=sso.user_id,
            interaction=found.id,
        )
        return passkeys.authentication_options(rp=_rp(idp), challenge=challenge, credentials=mine)

    issued = await run_in_threadpool(issue)
    if isinstance(issued, Problem):
        raise issued
    return _options(issued)


@router.post("/login/factor/passkey-uv")
async def step_up_verify(request: Request, idp: IdpDep) -> Response:
    """One of the person's passkeys as the missing factor: ``passkey-uv`` when the
    authenticator verified the person, ``passkey`` otherwise."""
    body = await _body(request)
    found, handle, sso = await _factor(request, idp, body)
    credential = _credential(body)
    address = web.address(request)

    def check() -> passkeys.Asserted | Problem:
        challenge = _take(
            request, idp, credential, ceremony="step-up", sid=sso.sid, interaction=found.id
        )
        return _assert(
            idp, credential, challenge, address=address, owner=sso.user_id, step_up_of=sso.user_id
        )

    checked = await run_in_threadpool(check)
    if isinstance(checked, Problem):
        raise checked
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
    if not available(idp):
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

    def strong() -> bool:
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
            if user is None or user.disabled:
                return False
            return step_up.recently_strong(sso, available=step_up.enrolled(session, user))

    if not await run_in_threadpool(strong):
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

    def issue() -> str:
        challenge = passkeys.issue_challenge(
            idp.store,
            ceremony="register",
            browser=browser,
            verification="preferred",
            sid=sso.sid,
            user_id=sso.user_id,
        )
        with idp.database.transaction() as session:
            user = repository.user(session, sso.user_id)
            assert user is not None  # checked by _account
            return passkeys.registration_options(
                session, rp=_rp(idp), user=user, challenge=challenge
            )

    return _options(await run_in_threadpool(issue))


@router.post("/account/passkeys")
async def register(request: Request, idp: IdpDep) -> Response:
    """Store the new passkey (a ``passkey.registered`` audit event) and go back to the
    account page."""
    body = await _body(request)
    sso = await _account(request, idp, body)
    credential = _credential(body)
    address = web.address(request)

    def store() -> Problem | None:
        challenge = _take(request, idp, credential, ceremony="register", sid=sso.sid)
        if challenge.user_id != sso.user_id:
            return _refused(PasskeyError("challenge", "issued for someone else"))
        try:
            with idp.database.transaction() as session:
                user = repository.user(session, sso.user_id)
                if user is None:
                    raise PasskeyError("unknown", "the account is gone")
                passkeys.register(
                    session,
                    rp=_rp(idp),
                    events=idp.events,
                    user=user,
                    credential=credential,
                    challenge=challenge,
                    name=body.name,
                    address=address,
                )
        except PasskeyError as exc:
            with idp.database.transaction() as session:
                idp.events.record(
                    session,
                    type="passkey.registration_failed",
                    actor=sso.user_id,
                    subject=sso.user_id,
                    details={"reason": exc.reason, "address": address},
                )
            return _refused(exc)
        return None

    refused = await run_in_threadpool(store)
    if refused is not None:
        raise refused
    return _go("/account?passkey=added")
