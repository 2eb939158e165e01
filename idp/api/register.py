"""Self-registration for citizens (``/register``): phone number, a code sent to it, then a
name, an optional username and a password; the new account is signed in and the app's
request (when one was waiting) continues.

Security contract: the account is created only with a live code sent to the number for this
purpose and browser (:mod:`idp.sms_codes`); a number that already has an account gets a
message saying so instead of a code, and the page answers alike, so the form does not tell
whether a number has an account; every form carries a CSRF token; the account starts at
proofing level 1 (self-declared) — the real-name check is a separate step on the account page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from idp import accounts, passwords, self_service, sms_codes
from idp.api import page_parts, web
from idp.api.authorize import _bad_form, _expired, _interaction
from idp.api.code_delivery import Recipient, code_text, send_code
from idp.api.deps import IdpDep
from idp.api.signed_in import carry_on
from idp.interactions import Interaction
from idp.login import open_session
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sms import mask_phone

router = APIRouter(tags=["identity"], include_in_schema=False)
PURPOSE = "register"


@page_parts.login_part(90, "login_links.html")
def _links(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> dict[str, Any] | None:
    """Links to registration and password reset (both need SMS)."""
    return {"interaction": interaction.id} if idp.sms is not None else None


def self_page(
    request: Request,
    idp: IdentityProvider,
    template: str,
    *,
    purpose: str,
    interaction: str,
    context: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    """A page of a self-service flow: its CSRF token for this browser (given a browser id
    cookie when it has none) and the app's interaction it continues, if any."""
    browser, new = browser_id(request)
    page = web.render(
        request,
        template,
        {
            "csrf_token": web.csrf_token(idp, browser, purpose),
            "interaction": interaction,
            **context,
        },
        status=status,
    )
    if new:
        web.set_browser_cookie(page, idp, browser)
    return page


async def self_form(
    request: Request, idp: IdentityProvider, *, purpose: str, csrf_token: str, interaction: str
) -> tuple[str, Interaction | None] | Response:
    """(browser id, the waiting interaction or None) of a posted self-service form, or the
    page to show instead."""
    browser = request.cookies.get("tx_browser")
    if idp.sms is None or not browser:
        return _expired(request)
    if not await run_in_threadpool(web.csrf_ok, request, idp, purpose, csrf_token):
        return _bad_form(request)
    found = _interaction(request, idp, interaction) if interaction else None
    if interaction and found is None:
        return _expired(request)
    return browser, found


@router.get("/register")
async def register_page(request: Request, idp: IdpDep, interaction: str = "") -> Response:
    """Step 1: the phone number."""
    if idp.sms is None:
        return Response(status_code=404)
    return await run_in_threadpool(
        lambda: self_page(
            request,
            idp,
            "register.html",
            purpose=PURPOSE,
            interaction=interaction[:64],
            context={"phone": "", "error": None},
        )
    )


@router.post("/register/send")
async def register_send(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Step 2: a code to the number (or, when it has an account, a message saying so)."""
    posted = await self_form(
        request, idp, purpose=PURPOSE, csrf_token=csrf_token, interaction=interaction
    )
    if isinstance(posted, Response):
        return posted
    browser, _ = posted
    t = web.texts(request)

    def page(template: str, phone_shown: str, status: int = 200, **context: Any) -> HTMLResponse:
        return self_page(
            request,
            idp,
            template,
            purpose=PURPOSE,
            interaction=interaction,
            context={"phone": phone_shown, "error": None, **context},
            status=status,
        )

    def recipient(number: str, code: str) -> Recipient:
        # A number with an account gets a reminder instead: the page is the same either way.
        taken = self_service.phone_taken(idp, number)
        return Recipient(
            text=t["reg_sms_taken"] if taken else code_text(request, idp, code), user_id=None
        )

    return await send_code(
        request,
        idp,
        phone=phone,
        purpose="register",
        browser=browser,
        form_page=lambda shown, error, status: page("register.html", shown, status, error=error),
        sent_page=lambda number: page(
            "register_details.html", number, masked=mask_phone(number), name="", username=""
        ),
        recipient=recipient,
    )


@router.post("/register")
async def register_submit(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
    name: Annotated[str, Form(max_length=128)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Step 3: the code, a name, a username (optional) and a password: the account, signed
    in, then on to the app (or the account page)."""
    posted = await self_form(
        request, idp, purpose=PURPOSE, csrf_token=csrf_token, interaction=interaction
    )
    if isinstance(posted, Response):
        return posted
    browser, found = posted
    number = sms_codes.normalise_phone(phone)
    if number is None:
        return _bad_form(request)
    t = web.texts(request)
    address = web.address(request)
    user_agent = request.headers.get("user-agent", "")

    def again(error: str) -> HTMLResponse:
        return self_page(
            request,
            idp,
            "register_details.html",
            purpose=PURPOSE,
            interaction=interaction,
            context={
                "phone": number,
                "masked": mask_phone(number),
                "name": name,
                "username": username,
                "error": error,
            },
            status=400,
        )

    # What can be checked without spending the code comes first.
    problem: str | None = None
    if not name.strip():
        problem = t["reg_name_missing"]
    elif username.strip() and not await run_in_threadpool(
        self_service.username_free, idp, username
    ):
        problem = t["reg_username_taken"]
    else:
        try:
            passwords.check_policy(password)
        except passwords.WeakPassword:
            problem = t["pw_weak"].format(length=passwords.MIN_LENGTH)
    if problem is not None:
        return await run_in_threadpool(again, problem)

    def create() -> str | User:
        if not sms_codes.use(
            idp,
            phone=number,
            purpose="register",
            browser=browser,
            code=code,
            user_id=None,
            address=address,
        ):
            return t["sms_code_failed"]
        try:
            return self_service.register(
                idp,
                phone=number,
                display_name=name,
                username=username,
                password=password,
                address=address,
            )
        except accounts.AccountError:
            return t["reg_failed"]

    created = await run_in_threadpool(create)
    if isinstance(created, str):
        return await run_in_threadpool(again, created)
    user = created
    # Registration proved possession of the phone (the code) and nothing else: the password
    # was chosen a moment ago by whoever holds the phone, so it is not a second, independent
    # factor yet — the session records only "sms" (one factor, level 2 at most).
    opened = await run_in_threadpool(
        lambda: open_session(
            idp,
            user=user,
            methods=["sms"],
            address=address,
            user_agent=user_agent,
            handle=request.cookies.get(SSO_COOKIE),
            details={"registered": True},
        )
    )
    return await carry_on(request, idp, found, opened)
