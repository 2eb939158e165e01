"""Sending an SMS code from our pages: the message, the "wait" answer, and the send step.

Security contract: :func:`send_code` answers with the same page, status and timing whether
or not a message goes out — what the number gets (the code, a reminder, or nothing when no
account is behind it) is decided and sent in a background task after the response, so the
form cannot be used to find out who has an account. :func:`send_now` is for a known person
(the signed-in one's own phone) and sends before answering, to say when it failed. The
sending limits, the binding of a code to number, purpose and browser, and the audit events
are :mod:`idp.sms_codes`'s; neither function checks a CSRF token (the routes do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from idp import repository, sms_codes
from idp.api import web
from idp.models import User
from idp.runtime import IdentityProvider


def code_text(request: Request, idp: IdentityProvider, code: str) -> str:
    """The message carrying ``code``, in the page's language."""
    minutes = max(1, idp.settings.sms_code_ttl_seconds // 60)
    return web.texts(request)["sms_message"].format(code=code, minutes=minutes)


def phone_owner(idp: IdentityProvider, phone: str) -> User | None:
    """The enabled account whose verified phone is ``phone``."""
    with idp.database.reading() as session:
        user = repository.user_by_login(session, phone)
    if user is None or user.phone != phone or not user.phone_verified or user.disabled:
        return None
    return user


def code_owner(
    idp: IdentityProvider, *, phone: str, purpose: str, browser: str, code: str, address: str
) -> User | None:
    """The account whose verified phone ``code`` was sent to, when the code is right (it is
    spent then); None otherwise. The code is checked whether or not the number has such an
    account, so neither the answer nor its timing tells."""
    owner = phone_owner(idp, phone)
    ok = sms_codes.use(
        idp,
        phone=phone,
        purpose=purpose,
        browser=browser,
        code=code,
        user_id=owner.id if owner is not None else None,
        address=address,
    )
    return owner if ok else None


def refused_page(page: HTMLResponse, refused: sms_codes.Refused) -> HTMLResponse:
    """``page`` as a 429 with Retry-After (the page says how long to wait)."""
    page.status_code = 429
    page.headers["Retry-After"] = str(refused.retry_after)
    return page


def wait_message(request: Request, refused: sms_codes.Refused) -> str:
    """How long to wait before the next code."""
    return web.texts(request)["sms_wait"].format(seconds=refused.retry_after)


@dataclass(frozen=True)
class Recipient:
    """What a number gets: ``text`` (None: nothing) and the account it belongs to, if any."""

    text: str | None
    user_id: str | None


def to_owner(request: Request, idp: IdentityProvider, number: str, code: str) -> Recipient:
    """The code when ``number`` is an account's verified phone, nothing otherwise."""
    owner = phone_owner(idp, number)
    if owner is None:
        return Recipient(text=None, user_id=None)
    return Recipient(text=code_text(request, idp, code), user_id=owner.id)


async def send_code(
    request: Request,
    idp: IdentityProvider,
    *,
    phone: str,
    purpose: str,
    browser: str,
    form_page: Callable[[str, str, int], HTMLResponse],
    sent_page: Callable[[str], HTMLResponse],
    recipient: Callable[[str, str], Recipient] | None = None,
) -> Response:
    """The "send me a code" step of a form. ``phone`` is as typed; ``form_page(phone shown,
    error, status)`` is the number form again (400 for a number that is not one, 429 with
    Retry-After when a sending limit refuses); otherwise ``sent_page(number)``, and after
    it the message of ``recipient(number, code)`` (default :func:`to_owner`)."""
    number = sms_codes.normalise_phone(phone)
    if number is None:
        message = web.texts(request)["sms_bad_phone"]
        return await run_in_threadpool(form_page, phone, message, 400)
    address = web.address(request)
    issued = await run_in_threadpool(
        lambda: sms_codes.issue(
            idp, phone=number, purpose=purpose, browser=browser, address=address
        )
    )
    if isinstance(issued, sms_codes.Refused):
        page = await run_in_threadpool(form_page, number, wait_message(request, issued), 200)
        return refused_page(page, issued)
    pick = recipient or (lambda n, c: to_owner(request, idp, n, c))
    to = await run_in_threadpool(pick, number, issued.code)
    page = await run_in_threadpool(sent_page, number)
    # After the answer: how long the provider takes must not tell whether a code went out.
    page.background = BackgroundTask(
        run_in_threadpool,
        sms_codes.deliver,
        idp,
        phone=number,
        text=to.text,
        purpose=purpose,
        user_id=to.user_id,
        address=address,
    )
    return page


def send_now(
    request: Request,
    idp: IdentityProvider,
    *,
    phone: str,
    purpose: str,
    browser: str,
    user_id: str,
    address: str,
) -> sms_codes.Refused | bool:
    """Issue a code to the known person's ``phone`` and send it before answering: the
    refusal of a sending limit, or whether the gateway took the message."""
    issued = sms_codes.issue(idp, phone=phone, purpose=purpose, browser=browser, address=address)
    if isinstance(issued, sms_codes.Refused):
        return issued
    return sms_codes.deliver(
        idp,
        phone=phone,
        text=code_text(request, idp, issued.code),
        purpose=purpose,
        user_id=user_id,
        address=address,
    )
