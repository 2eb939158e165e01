"""SMS codes on our pages: sign-in by code (a first factor), the code as a step-up method,
and the development outbox (``/demo/sms``, demo mode only).

Security contract: signing in by SMS works only for an account whose phone is verified; the
answer to "send a code" is the same page, status and (the message goes out after the
response) timing whether or not the number has such an account, so the form cannot be used
to find out who has an account; the code is bound to the number, purpose and browser
(:mod:`idp.sms_codes`) and its page forms carry a CSRF token.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from core.i18n import beijing_time, pick_language
from core.settings import Mode
from idp import repository, sms_codes, step_up
from idp.api import page_parts, web
from idp.api.authorize import _bad_form, _expired, _interaction, _interaction_page
from idp.api.code_delivery import code_owner, send_code, send_now
from idp.api.deps import IdpDep
from idp.api.signed_in import carry_on
from idp.api.step_up import PURPOSE as FACTOR_PURPOSE
from idp.api.step_up import factor_failed, factor_form
from idp.api.step_up_method import prove
from idp.interactions import Interaction
from idp.login import open_session
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession
from idp.sms import DevelopmentSmsGateway, mask_phone

router = APIRouter(tags=["identity"], include_in_schema=False)
LOGIN_PURPOSE = "login-sms"


# --- signing in with a code -------------------------------------------------------------


@page_parts.login_part(20, "login_sms.html")
def _login_part(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> dict[str, str] | None:
    if idp.sms is None:
        return None
    return {"csrf": web.csrf_token(idp, interaction.browser, LOGIN_PURPOSE)}


def _login_page(
    request: Request,
    idp: IdentityProvider,
    found: Interaction,
    *,
    template: str,
    phone: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _interaction_page(
        request,
        idp,
        found,
        template=template,
        purpose=LOGIN_PURPOSE,
        context=lambda _: {
            "phone": phone,
            "masked": mask_phone(phone) if phone else "",
            "error": error,
        },
        status=status,
    )


async def _login_form(
    request: Request, idp: IdentityProvider, interaction: str, csrf_token: str
) -> Interaction | Response:
    found = _interaction(request, idp, interaction)
    if found is None or idp.sms is None:
        return _expired(request)
    if not await run_in_threadpool(web.csrf_ok, request, idp, LOGIN_PURPOSE, csrf_token):
        return _bad_form(request)
    return found


@router.get("/login/sms")
async def login_sms_page(request: Request, idp: IdpDep, interaction: str | None = None) -> Response:
    """The phone-number form of a sign-in by SMS code."""
    found = _interaction(request, idp, interaction)
    if found is None or idp.sms is None:
        return _expired(request)
    return await run_in_threadpool(
        lambda: _login_page(request, idp, found, template="sms_login.html")
    )


@router.post("/login/sms/send")
async def login_sms_send(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Send a sign-in code when the number is an account's verified phone; the answer is
    the same either way."""
    posted = await _login_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found = posted

    def form_page(shown: str, error: str, status: int) -> HTMLResponse:
        return _login_page(
            request, idp, found, template="sms_login.html", phone=shown, error=error, status=status
        )

    return await send_code(
        request,
        idp,
        phone=phone,
        purpose="login",
        browser=found.browser,
        form_page=form_page,
        sent_page=lambda number: _login_page(
            request, idp, found, template="sms_login_code.html", phone=number
        ),
    )


@router.post("/login/sms")
async def login_sms_submit(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check the code; on success sign in (method ``sms``) and continue the request."""
    posted = await _login_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found = posted
    number = sms_codes.normalise_phone(phone)
    if number is None:
        return _bad_form(request)
    address = web.address(request)
    user_agent = request.headers.get("user-agent", "")

    user = await run_in_threadpool(
        lambda: code_owner(
            idp, phone=number, purpose="login", browser=found.browser, code=code, address=address
        )
    )
    if user is None:
        return await run_in_threadpool(
            lambda: _login_page(
                request,
                idp,
                found,
                template="sms_login_code.html",
                phone=number,
                error=web.texts(request)["sms_code_failed"],
                status=400,
            )
        )
    opened = await run_in_threadpool(
        lambda: open_session(
            idp,
            user=user,
            methods=["sms"],
            address=address,
            user_agent=user_agent,
            handle=request.cookies.get(SSO_COOKIE),
        )
    )
    return await carry_on(request, idp, found, opened)


# --- the code as a step-up method ----------------------------------------------------------


@router.post("/login/factor/sms/send")
async def factor_sms_send(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Send a code to the signed-in person's verified phone."""
    posted = await factor_form(request, idp, interaction, csrf_token)
    if isinstance(posted, Response):
        return posted
    found, _, sso = posted
    address = web.address(request)

    def send() -> str | sms_codes.Refused | None:
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
        if user is None or not user.phone or not user.phone_verified or idp.sms is None:
            return None
        sent = send_now(
            request,
            idp,
            phone=user.phone,
            purpose="step-up",
            browser=found.browser,
            user_id=user.id,
            address=address,
        )
        return sent if isinstance(sent, sms_codes.Refused) else user.phone if sent else None

    outcome = await run_in_threadpool(send)
    if isinstance(outcome, sms_codes.Refused):
        return await factor_failed(
            request, idp, found, step_up.Checked(ok=False, retry_after=outcome.retry_after)
        )
    if outcome is None:
        return await factor_failed(request, idp, found, step_up.Checked(ok=False))
    masked = mask_phone(outcome)
    return await run_in_threadpool(
        lambda: _interaction_page(
            request,
            idp,
            found,
            template="factor_sms_sent.html",
            purpose=FACTOR_PURPOSE,
            context=lambda _: {"masked": masked},
        )
    )


@router.post("/login/factor/sms")
async def factor_sms(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    code: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """A code sent to the person's verified phone as the missing factor."""
    address = web.address(request)

    def verify(found: Interaction, sso: SsoSession) -> bool:
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
        if user is None or not user.phone or not user.phone_verified:
            return False
        return sms_codes.use(
            idp,
            phone=user.phone,
            purpose="step-up",
            browser=found.browser,
            code=code,
            user_id=user.id,
            address=address,
        )

    return await prove(
        request,
        idp,
        interaction=interaction,
        csrf_token=csrf_token,
        method="sms",
        verify=verify,
    )


# --- the development outbox ------------------------------------------------------------


@router.get("/demo/sms")
async def demo_outbox(request: Request, idp: IdpDep) -> Response:
    """DEMO ONLY: the messages the development gateway "sent" in the last hour, newest
    first, with full numbers (demo data); 404 outside demo mode."""
    gateway = idp.sms
    if idp.settings.mode is not Mode.DEMO or not isinstance(gateway, DevelopmentSmsGateway):
        return Response(status_code=404)
    lang = pick_language(request)

    def build() -> HTMLResponse:
        messages = [(m, beijing_time(int(m.sent_at), lang, seconds=True)) for m in gateway.outbox()]
        return web.render(request, "demo_sms.html", {"messages": messages})

    return await run_in_threadpool(build)
