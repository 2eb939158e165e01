"""Identity proofing on the account page: the person's level, the real-name check (L1→L2) and
the face check (L2→L3) (see :mod:`idp.proofing`).

Both checks need a live SSO session that signed in (or confirmed it is the person) within
``idp.step_up.RECENT_SECONDS``, with two kinds of factor when the person has a second one —
the rule for changing one's own sign-in methods. Binding an identity to an account is at
least as sensitive: whoever holds only a stolen password must not tie the account to a
name, nor raise it to a level that opens services a password alone would not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from core.i18n import beijing_time, pick_language
from idp import proofing, repository, step_up
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.page_parts import account_part
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
PURPOSE = "proofing"
RESULTS = (
    "confirmed",
    "mismatch",
    "failed",
    "unavailable",
    "invalid",
    "taken",
    "different",
    "level",
    "limited",
    "off",
)
VERIFY = "/account/verify?return_to=/account"


def _fresh(session: Session, user: User, sso: SsoSession) -> bool:
    return step_up.recently_strong(sso, available=step_up.enrolled(session, user))


@account_part(30, "account_proofing.html")
def proofing_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any] | None:
    """The person's level and the checks that can raise it."""
    browser, _ = browser_id(request)
    t = web.texts(request)
    result = request.query_params.get("proofing")
    message = None
    if result in RESULTS:
        hours = request.query_params.get("hours", "24")
        message = t[f"proofing_result_{result}"].format(hours=hours if hours.isdigit() else 24)
    return {
        "level": user.proofing_level,
        "proofed_at": (
            beijing_time(user.proofed_at, pick_language(request), seconds=False)
            if user.proofed_at
            else None
        ),
        "masked": user.national_id_masked,
        "result": message,
        "fresh": _fresh(session, user, sso),
        "offer_real_name": idp.real_name is not None and user.proofing_level < 2,
        "offer_face": idp.face is not None and user.proofing_level == 2,
        "csrf_token": web.csrf_token(idp, browser, PURPOSE),
    }


def _allowed(idp: IdentityProvider, sso: SsoSession) -> bool:
    with idp.database.reading() as session:
        user = repository.user(session, sso.user_id)
        return user is not None and not user.disabled and _fresh(session, user, sso)


async def _session(request: Request, idp: IdentityProvider, csrf_token: str | None) -> Any:
    """The SSO session of a check, or the response to give instead."""
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None:
        return web.see_other("/account")
    if csrf_token is not None and not await run_in_threadpool(
        web.csrf_ok, request, idp, PURPOSE, csrf_token
    ):
        return web.see_other("/account")
    if not await run_in_threadpool(_allowed, idp, sso):
        return web.see_other(VERIFY)
    return sso


async def _check(
    request: Request,
    idp: IdentityProvider,
    csrf_token: str,
    check: Callable[[str, str], proofing.Outcome],
) -> Response:
    """Run ``check(user id, client address)`` for the session's person (when the session
    may, see :func:`_session`) and go back to the account page with its outcome."""
    sso = await _session(request, idp, csrf_token)
    if isinstance(sso, Response):
        return sso
    outcome = await run_in_threadpool(check, sso.user_id, web.address(request))
    hours = f"&hours={max(1, round(outcome.retry_after / 3600))}" if outcome.retry_after else ""
    return web.see_other(f"/account?proofing={outcome.status}{hours}#proofing")


@router.post("/account/proofing/real-name")
async def real_name(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=64)] = "",
    national_id: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Level 1 → 2: the authority confirms the name and identity number."""
    return await _check(
        request,
        idp,
        csrf_token,
        lambda user_id, address: proofing.check_real_name(
            idp, user_id=user_id, name=name, national_id=national_id, address=address
        ),
    )


@router.get("/account/proofing/face")
async def face_page(request: Request, idp: IdpDep) -> Response:
    """The face check: with the development verifier, a page holding a liveness token we
    issued (a real SDK would run here and produce one)."""
    sso = await _session(request, idp, None)
    if isinstance(sso, Response):
        return sso
    if idp.face is None:
        return web.see_other("/account?proofing=off#proofing")
    browser, new = browser_id(request)
    token = proofing.issue_liveness(idp, sso.user_id)
    response = web.render(
        request,
        "proofing_face.html",
        {
            "development": token is not None,
            "liveness_token": token or "",
            "csrf_token": web.csrf_token(idp, browser, PURPOSE),
        },
    )
    if new:
        web.set_browser_cookie(response, idp, browser)
    return response


@router.post("/account/proofing/face")
async def face(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    liveness_token: Annotated[str, Form(max_length=4096)] = "",
) -> Response:
    """Level 2 → 3: the face-check service confirms a live person holding the identity."""
    return await _check(
        request,
        idp,
        csrf_token,
        lambda user_id, address: proofing.check_face(
            idp, user_id=user_id, liveness_token=liveness_token, address=address
        ),
    )
