"""The account page's sign-in methods (登录方式): every authenticator of the person (TOTP
and passkeys) to rename or remove, TOTP enrolment by QR code, and recovery codes.

Security contract: every change (add, rename, remove, new recovery codes) needs a form with
the account page's CSRF token and a recent, strong sign-in
(:func:`idp.step_up.recently_strong`), else the person is sent to ``/account/verify``
first; the secret being enrolled stays in the store bound to the SSO session and appears in
the page only until it is confirmed; recovery codes appear once, in the answer that made
them (``Cache-Control: no-store``, like every IdP page).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.i18n import beijing_time, pick_language
from idp import factors, qr, recovery_codes, repository, step_up, totp
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.page_parts import account_part
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
CSRF_PURPOSE = "account"  # the account page's token (its parts' forms share it)
VERIFY = "/account/verify?return_to=/account"
NOTICES = ("enrolled", "wrong_code", "expired", "renamed", "removed", "not_found")
ERRORS = frozenset({"wrong_code", "expired", "not_found"})


def _grouped(secret: bytes) -> str:
    text = base64.b32encode(secret).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


@account_part(20, "account_factors.html")
def factors_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any]:
    """The person's authenticators, recovery codes left, and a TOTP enrolment under way."""
    lang = pick_language(request)
    listed = [
        {
            "id": a.id,
            "kind": a.kind,
            "name": a.name,
            "created": beijing_time(a.created_at, lang, seconds=False),
            "last_used": (
                beijing_time(a.last_used_at, lang, seconds=False) if a.last_used_at else None
            ),
        }
        for a in factors.of_user(session, user.id)
    ]
    enrolling: dict[str, str] | None = None
    secret = None
    if factors.has_pending(idp.store, sid=sso.sid):  # then the data key exists: just read it
        key = idp.data_keys.get(session, totp.DATA_KEY_PURPOSE)
        secret = factors.pending(idp.store, key=key, sid=sso.sid)
    if secret is not None:
        uri = totp.otpauth_uri(secret, account=user.username, issuer=factors.ISSUER_LABEL)
        enrolling = {"qr": qr.svg_data_uri(uri), "secret": _grouped(secret)}
    notice = request.query_params.get("factors")
    return {
        "authenticators": listed,
        "recovery_left": recovery_codes.remaining(session, user.id),
        "recovery_issued": recovery_codes.issued(session, user.id),
        "admin_role": factors.holds_admin_role(session, user.id),
        "enrolling": enrolling,
        "notice": notice if notice in NOTICES else None,
        "notice_is_error": notice in ERRORS,
    }


async def _allowed(
    request: Request, idp: IdentityProvider, csrf_token: str
) -> tuple[SsoSession, User, set[str]] | Response:
    """The session, person and their methods when the form may change their factors; the
    answer to give instead otherwise (back to the account page, or a fresh check)."""
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None:
        return web.see_other("/account")
    if not await run_in_threadpool(web.csrf_ok, request, idp, CSRF_PURPOSE, csrf_token):
        return web.render(
            request, "error.html", {"message": web.texts(request)["error_csrf"]}, status=400
        )

    def load() -> tuple[User | None, set[str]]:
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
            return user, (step_up.enrolled(session, user) if user is not None else set())

    user, available = await run_in_threadpool(load)
    if user is None or user.disabled:
        return web.see_other("/account")
    if not step_up.recently_strong(sso, available=available):
        return web.see_other(VERIFY)
    return sso, user, available


def _back(notice: str) -> Response:
    return web.see_other(f"/account?factors={notice}#factors")


def _show_codes(request: Request, codes: list[str]) -> Response:
    return web.render(request, "recovery_codes.html", {"codes": codes})


@router.post("/account/factors/totp/start")
async def start_totp(
    request: Request, idp: IdpDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Begin adding an authenticator app: a fresh secret, shown on the account page."""
    allowed = await _allowed(request, idp, csrf_token)
    if isinstance(allowed, Response):
        return allowed
    sso, _, _ = allowed
    key = await run_in_threadpool(idp.data_key, totp.DATA_KEY_PURPOSE)
    await run_in_threadpool(lambda: factors.start_pending(idp.store, key=key, sid=sso.sid))
    return web.see_other("/account#factors-enrol")


@router.post("/account/factors/totp/cancel")
async def cancel_totp(
    request: Request, idp: IdpDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Abandon the enrolment under way."""
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is not None and await run_in_threadpool(
        web.csrf_ok, request, idp, CSRF_PURPOSE, csrf_token
    ):
        await run_in_threadpool(lambda: factors.drop_pending(idp.store, sid=sso.sid))
    return web.see_other("/account#factors")


@router.post("/account/factors/totp/confirm")
async def confirm_totp(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The first code from the app: when right, the authenticator is stored (that code
    spent) and, with the person's first second factor, recovery codes are shown once."""
    allowed = await _allowed(request, idp, csrf_token)
    if isinstance(allowed, Response):
        return allowed
    sso, user, _ = allowed
    key = await run_in_threadpool(idp.data_key, totp.DATA_KEY_PURPOSE)
    secret = await run_in_threadpool(lambda: factors.pending(idp.store, key=key, sid=sso.sid))
    if secret is None:
        return _back("expired")
    address = web.address(request)
    checked = await run_in_threadpool(
        lambda: step_up.check_factor(
            idp,
            user_id=user.id,
            method="totp-enrolment",
            address=address,
            verify=lambda: factors.confirm_step(secret, code) is not None,
        )
    )
    if not checked.ok:
        return _back("wrong_code")
    step = factors.confirm_step(secret, code)
    taken = await run_in_threadpool(lambda: factors.take_pending(idp.store, key=key, sid=sso.sid))
    if taken != secret or step is None:  # confirmed meanwhile by another request
        return _back("expired")
    default = web.texts(request)["factors_enrol_name_default"]

    def store() -> list[str] | None:
        with idp.database.transaction() as session:
            factors.enrol_totp(
                session,
                data_keys=idp.data_keys,
                events=idp.events,
                user_id=user.id,
                secret=secret,
                name=factors.clean_name(name, default),
                actor=user.id,
                confirmed_step=step,
            )
            if recovery_codes.issued(session, user.id):
                return None
            return recovery_codes.generate(
                session,
                data_keys=idp.data_keys,
                events=idp.events,
                user_id=user.id,
                actor=user.id,
            )

    codes = await run_in_threadpool(store)
    return _show_codes(request, codes) if codes else _back("enrolled")


async def _change_one(
    idp: IdentityProvider, change: Callable[[Session], object | None], *, notice: str
) -> Response:
    """Run ``change`` on one of the person's authenticators (in a transaction; None: not
    theirs, or gone) and go back to the account page saying how it went."""

    def run() -> bool:
        with idp.database.transaction() as session:
            return change(session) is not None

    return _back(notice if await run_in_threadpool(run) else "not_found")


@router.post("/account/factors/{authenticator_id}/rename")
async def rename(
    request: Request,
    idp: IdpDep,
    authenticator_id: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Give one of my authenticators a new name."""
    allowed = await _allowed(request, idp, csrf_token)
    if isinstance(allowed, Response):
        return allowed
    _, user, _ = allowed
    return await _change_one(
        idp,
        lambda session: factors.rename(
            session,
            events=idp.events,
            user_id=user.id,
            authenticator_id=authenticator_id[:32],
            name=name,
            actor=user.id,
        ),
        notice="renamed",
    )


@router.post("/account/factors/{authenticator_id}/remove")
async def remove(
    request: Request,
    idp: IdpDep,
    authenticator_id: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Remove one of my authenticators (any kind)."""
    allowed = await _allowed(request, idp, csrf_token)
    if isinstance(allowed, Response):
        return allowed
    _, user, _ = allowed
    return await _change_one(
        idp,
        lambda session: factors.remove(
            session,
            events=idp.events,
            user_id=user.id,
            authenticator_id=authenticator_id[:32],
            actor=user.id,
        ),
        notice="removed",
    )


@router.post("/account/recovery-codes")
async def regenerate(
    request: Request, idp: IdpDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """New recovery codes, replacing all earlier ones, shown once."""
    allowed = await _allowed(request, idp, csrf_token)
    if isinstance(allowed, Response):
        return allowed
    _, user, _ = allowed

    def run() -> list[str] | None:
        with idp.database.transaction() as session:
            if not factors.of_user(session, user.id):
                return None  # codes recover a second factor: none to recover
            return recovery_codes.generate(
                session,
                data_keys=idp.data_keys,
                events=idp.events,
                user_id=user.id,
                actor=user.id,
            )

    codes = await run_in_threadpool(run)
    return _show_codes(request, codes) if codes else _back("not_found")
