"""The person's own password and phone: reset through confirmed factors (``/reset``), change
on the account page, and a new verified phone number.

Security contract: a reset needs a code sent to the account's verified phone and, when the
person has a second factor, that factor too (a reset is never weaker than a sign-in at the
account's usual level; see :func:`idp.self_service.second_factor_for_reset`) — for an
authenticator app, one of the person's single-use recovery codes may stand in, checked
under the ``recovery`` method's attempt limits as at sign-in; the page
answers alike whether or not a number has an account; a reset ends every session of the
person and a change every other session, and the apps are told (back-channel logout). A
change needs a recent strong sign-in (:func:`idp.step_up.recently_strong`, otherwise
``/account/verify``) and the current password; a new phone number needs a recent strong
sign-in and a code sent to the new number. Every form carries a CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.csrf import BROWSER_COOKIE
from idp import accounts, passwords, repository, self_service, sms_codes, step_up
from idp.api import page_parts, web
from idp.api.authorize import _bad_form
from idp.api.code_delivery import code_owner, refused_page, send_code, send_now, wait_message
from idp.api.deps import IdpDep
from idp.api.logout import deliver_after
from idp.api.recovery import spend_code
from idp.api.register import self_form, self_page
from idp.api.totp import code_matches
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession
from idp.sms import mask_phone

router = APIRouter(tags=["identity"], include_in_schema=False)
RESET = "reset"
CHANGE = "account-password"
PHONE = "account-phone"
VERIFY = "/account/verify?return_to=/account"


def _notice(
    request: Request, message: str, *, link: str, error: bool = False, status: int = 200
) -> HTMLResponse:
    t = web.texts(request)
    return web.render(
        request,
        "notice.html",
        {"message": message, "error": error, "link": link, "link_text": t["pw_continue"]},
        status=status,
    )


def _account_error(request: Request, message: str, *, status: int) -> HTMLResponse:
    """What went wrong with a form of the account page, and the way back to it."""
    return _notice(request, message, link="/account", error=True, status=status)


# --- reset --------------------------------------------------------------------------------


def _reset_page(
    request: Request,
    idp: IdentityProvider,
    template: str,
    *,
    interaction: str,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    return self_page(
        request,
        idp,
        template,
        purpose=RESET,
        interaction=interaction,
        context={"error": None, **context},
        status=status,
    )


@router.get("/reset")
async def reset_page(request: Request, idp: IdpDep, interaction: str = "") -> Response:
    """Step 1: the account's phone number."""
    if idp.sms is None:
        return Response(status_code=404)
    return await run_in_threadpool(
        lambda: _reset_page(request, idp, "reset.html", interaction=interaction[:64], phone="")
    )


@router.post("/reset/send")
async def reset_send(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Step 2: a code to the number when it is an account's verified phone (the same answer
    either way)."""
    posted = await self_form(
        request, idp, purpose=RESET, csrf_token=csrf_token, interaction=interaction
    )
    if isinstance(posted, Response):
        return posted
    browser, _ = posted

    def form_page(shown: str, error: str, status: int) -> HTMLResponse:
        return _reset_page(
            request,
            idp,
            "reset.html",
            interaction=interaction,
            status=status,
            phone=shown,
            error=error,
        )

    return await send_code(
        request,
        idp,
        phone=phone,
        purpose="reset",
        browser=browser,
        form_page=form_page,
        sent_page=lambda number: _reset_page(
            request,
            idp,
            "reset_code.html",
            interaction=interaction,
            phone=number,
            masked=mask_phone(number),
        ),
    )


@router.post("/reset/code")
async def reset_code(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Step 3: the code proves the phone; then the new password (and the second factor)."""
    posted = await self_form(
        request, idp, purpose=RESET, csrf_token=csrf_token, interaction=interaction
    )
    if isinstance(posted, Response):
        return posted
    browser, _ = posted
    number = sms_codes.normalise_phone(phone)
    if number is None:
        return _bad_form(request)
    t = web.texts(request)
    address = web.address(request)

    def prove() -> str | tuple[str, self_service.ResetTicket] | None:
        owner = code_owner(
            idp, phone=number, purpose="reset", browser=browser, code=code, address=address
        )
        if owner is None:
            return None
        with idp.database.reading() as session:
            available = step_up.enrolled(session, owner)
        second = self_service.second_factor_for_reset(available)
        if second is None:
            return "refused"
        ticket = self_service.ResetTicket(
            user_id=owner.id,
            browser=browser,
            second=second,
            recovery=self_service.recovery_for_reset(available),
        )
        return self_service.start_reset(idp, ticket), ticket

    proved = await run_in_threadpool(prove)
    if proved is None:
        return await run_in_threadpool(
            lambda: _reset_page(
                request,
                idp,
                "reset_code.html",
                interaction=interaction,
                status=400,
                phone=number,
                masked=mask_phone(number),
                error=t["sms_code_failed"],
            )
        )
    if isinstance(proved, str):  # only factors the reset page cannot check
        return _account_error(request, t["reset_other_factor"], status=400)
    token, held = proved
    return await run_in_threadpool(
        lambda: _reset_page(
            request,
            idp,
            "reset_new.html",
            interaction=interaction,
            ticket=token,
            second=held.second,
            recovery=held.recovery,
        )
    )


def _reset_factor(
    idp: IdentityProvider,
    held: self_service.ResetTicket,
    *,
    totp_code: str,
    recovery_code: str,
    address: str,
) -> step_up.Checked:
    """Check the reset's second factor under its method's attempt limits: the authenticator
    app's code, or — when the ticket allows it and no app code was typed — a recovery code
    (spent, like at sign-in)."""
    recovery = held.recovery and bool(recovery_code.strip()) and not totp_code.strip()

    def verify() -> bool:
        if recovery:
            return spend_code(idp, user_id=held.user_id, code=recovery_code, address=address)
        return code_matches(idp, user_id=held.user_id, code=totp_code)

    return step_up.check_factor(
        idp,
        user_id=held.user_id,
        method="recovery" if recovery else "totp",
        address=address,
        verify=verify,
        details={"for": "password-reset"},
    )


def _check_failed(
    request: Request,
    checked: step_up.Checked,
    *,
    wrong: str,
    page: Callable[[str, int], HTMLResponse],
) -> HTMLResponse:
    """``page(message, status)`` saying why a factor check failed: 429 with Retry-After
    when its attempt limit refused or now locks it, else 400 with ``wrong``."""
    if not checked.retry_after:
        return page(wrong, 400)
    locked = page(web.texts(request)["login_locked"].format(seconds=checked.retry_after), 429)
    locked.headers["Retry-After"] = str(checked.retry_after)
    return locked


@router.post("/reset")
async def reset_submit(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    ticket: Annotated[str, Form(max_length=64)] = "",
    totp_code: Annotated[str, Form(max_length=16)] = "",
    recovery_code: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Step 4: the second factor (when the person has one: the authenticator app's code, or
    one of their recovery codes in its place) and the new password; every session of the
    person ends."""
    posted = await self_form(
        request, idp, purpose=RESET, csrf_token=csrf_token, interaction=interaction
    )
    if isinstance(posted, Response):
        return posted
    browser, found = posted
    t = web.texts(request)
    held = await run_in_threadpool(lambda: self_service.reset_ticket(idp, ticket, browser=browser))
    if held is None:
        return _notice(request, t["reset_expired"], link="/reset", error=True, status=400)
    address = web.address(request)

    def again(error: str, status: int = 400) -> HTMLResponse:
        return _reset_page(
            request,
            idp,
            "reset_new.html",
            interaction=interaction,
            status=status,
            ticket=ticket,
            second=held.second,
            recovery=held.recovery,
            error=error,
        )

    try:
        passwords.check_policy(password)
    except passwords.WeakPassword:
        return await run_in_threadpool(again, t["pw_weak"].format(length=passwords.MIN_LENGTH))
    if held.second == "totp":
        checked = await run_in_threadpool(
            lambda: _reset_factor(
                idp, held, totp_code=totp_code, recovery_code=recovery_code, address=address
            )
        )
        if not checked.ok:
            return await run_in_threadpool(
                lambda: _check_failed(request, checked, wrong=t["factor_failed"], page=again)
            )
    if not await run_in_threadpool(self_service.finish_reset, idp, ticket):
        return _notice(request, t["reset_expired"], link="/reset", error=True, status=400)
    here = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    ended = await run_in_threadpool(
        lambda: self_service.set_password(
            idp, user_id=held.user_id, password=password, reset=True, address=address
        )
    )
    link = f"/login?interaction={found.id}" if found is not None else "/account"
    response = _notice(request, t["reset_done"], link=link)
    if here is not None and here.user_id == held.user_id:
        web.clear_sso_cookie(response, idp)
    if ended is not None:
        deliver_after(response, idp, ended.deliveries)
    return response


# --- on the account page: change the password, a new verified phone --------------------------


def _strong(idp: IdentityProvider, session: Session, user: User, sso: SsoSession) -> bool:
    return step_up.recently_strong(sso, available=step_up.enrolled(session, user))


@page_parts.account_part(30, "account_password.html")
def _password_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any] | None:
    browser = request.cookies.get(BROWSER_COOKIE)
    if not browser or not user.password_hash:
        return None
    return {
        "csrf": web.csrf_token(idp, browser, CHANGE),
        "strong": _strong(idp, session, user, sso),
        "verify": VERIFY,
    }


@page_parts.account_part(25, "account_phone.html")
def _phone_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any] | None:
    browser = request.cookies.get(BROWSER_COOKIE)
    if not browser or idp.sms is None:
        return None
    return {
        "csrf": web.csrf_token(idp, browser, PHONE),
        "strong": _strong(idp, session, user, sso),
        "verify": VERIFY,
        "masked": mask_phone(user.phone) if user.phone else "",
        "verified": user.phone_verified,
    }


async def _account_form(
    request: Request, idp: IdentityProvider, *, purpose: str, csrf_token: str
) -> tuple[SsoSession, User] | Response:
    """The session and person of a posted account form that may change how they sign in:
    a recent strong sign-in is required (otherwise ``/account/verify`` first)."""
    handle = request.cookies.get(SSO_COOKIE)
    sso = idp.sessions.get(handle)
    if sso is None or not await run_in_threadpool(web.csrf_ok, request, idp, purpose, csrf_token):
        return web.see_other("/account")

    def load() -> tuple[User | None, bool]:
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
            strong = user is not None and _strong(idp, session, user, sso)
        return user, strong

    user, strong = await run_in_threadpool(load)
    if user is None or user.disabled:
        return web.see_other("/account")
    if not strong:
        return web.see_other(VERIFY)
    return sso, user


@router.post("/account/password")
async def change_password(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    current: Annotated[str, Form(max_length=1024)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """A new password: the current one, a recent strong sign-in; other sessions end."""
    posted = await _account_form(request, idp, purpose=CHANGE, csrf_token=csrf_token)
    if isinstance(posted, Response):
        return posted
    sso, user = posted
    t = web.texts(request)
    address = web.address(request)
    checked = await run_in_threadpool(
        lambda: step_up.check_factor(
            idp,
            user_id=user.id,
            method="pwd",
            address=address,
            verify=lambda: bool(current) and step_up.password_matches(idp, user.id, current),
            details={"for": "password-change"},
        )
    )
    if not checked.ok:
        return _check_failed(
            request,
            checked,
            wrong=t["pw_current_wrong"],
            page=lambda message, status: _account_error(request, message, status=status),
        )
    try:
        ended = await run_in_threadpool(
            lambda: self_service.set_password(
                idp,
                user_id=user.id,
                password=password,
                reset=False,
                address=address,
                keep_sid=sso.sid,
            )
        )
    except passwords.WeakPassword:
        message = t["pw_weak"].format(length=passwords.MIN_LENGTH)
        return _account_error(request, message, status=400)
    response = _notice(request, t["pw_changed"], link="/account")
    if ended is not None:
        deliver_after(response, idp, ended.deliveries)
    return response


@router.post("/account/phone/send")
async def phone_send(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """A code to the new number (a recent strong sign-in first)."""
    posted = await _account_form(request, idp, purpose=PHONE, csrf_token=csrf_token)
    if isinstance(posted, Response):
        return posted
    _, user = posted
    t = web.texts(request)
    number = sms_codes.normalise_phone(phone)
    browser = request.cookies.get(BROWSER_COOKIE) or ""
    if number is None or idp.sms is None:
        return _account_error(request, t["sms_bad_phone"], status=400)
    address = web.address(request)

    outcome = await run_in_threadpool(
        lambda: send_now(
            request,
            idp,
            phone=number,
            purpose="phone",
            browser=browser,
            user_id=user.id,
            address=address,
        )
    )
    if isinstance(outcome, sms_codes.Refused):
        page = _account_error(request, wait_message(request, outcome), status=200)
        return refused_page(page, outcome)
    if not outcome:
        return _account_error(request, t["sms_unavailable"], status=503)
    return web.render(
        request,
        "account_phone_code.html",
        {
            "csrf_token": web.csrf_token(idp, browser, PHONE),
            "phone": number,
            "masked": mask_phone(number),
        },
    )


@router.post("/account/phone")
async def phone_submit(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """The code sent to the new number makes it the account's verified phone."""
    posted = await _account_form(request, idp, purpose=PHONE, csrf_token=csrf_token)
    if isinstance(posted, Response):
        return posted
    _, user = posted
    t = web.texts(request)
    number = sms_codes.normalise_phone(phone)
    browser = request.cookies.get(BROWSER_COOKIE) or ""
    if number is None:
        return _bad_form(request)
    address = web.address(request)

    def change() -> str | None:
        if not sms_codes.use(
            idp,
            phone=number,
            purpose="phone",
            browser=browser,
            code=code,
            user_id=user.id,
            address=address,
        ):
            return t["sms_code_failed"]
        try:
            self_service.set_verified_phone(idp, user_id=user.id, phone=number, address=address)
        except accounts.AccountError:
            return t["phone_taken"]
        return None

    problem = await run_in_threadpool(change)
    if problem is not None:
        return _account_error(request, problem, status=400)
    return _notice(request, t["phone_changed"], link="/account")
