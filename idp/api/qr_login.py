"""QR cross-device sign-in (扫码登录) over HTTP: the sign-in page's QR part and its long-poll
(``/login/qr/…``), and the phone's approval page (``/qr/<id>``); rules in :mod:`idp.qr_login`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import segno
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from core.csrf import BROWSER_COOKIE
from core.errors import PROBLEM_BASE, PROBLEM_MEDIA_TYPE
from idp import repository
from idp.api import page_parts, web
from idp.api.authorize import _bad_form, _expired, _interaction, _login_form
from idp.api.deps import IdpDep
from idp.api.signed_in import carry_on
from idp.interactions import Interaction
from idp.login import Opened, open_session
from idp.qr_login import QrError, QrLogins, QrRequest
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE

router = APIRouter(tags=["identity"], include_in_schema=False)
TOKEN_HEADER = "x-qr-token"  # noqa: S105 (a header name)
# The long-poll answers within this many seconds, checking the store every POLL_INTERVAL.
WAIT_SECONDS = 25.0
POLL_INTERVAL = 0.2
PHONE_PURPOSE = "qr"
LOGIN_PURPOSE = "login"  # the desktop's requests carry the sign-in page's form token
_NO_STORE = {"Cache-Control": "no-store"}
T = TypeVar("T")


def _logins(idp: IdentityProvider) -> QrLogins:
    return QrLogins(store=idp.store, lifetime=idp.settings.qr_login_ttl_seconds)


@page_parts.login_part(50, "login_qr.html")
def _part(
    request: Request, idp: IdentityProvider, interaction: Interaction
) -> dict[str, Any] | None:
    """The QR part of an app's sign-in page (not of a sign-in for one of our own pages,
    such as the phone's own sign-in on its way to ``/qr/<id>``)."""
    return None if interaction.return_to is not None else {}


def _problem(status: int, kind: str, title: str) -> JSONResponse:
    return JSONResponse(
        {"type": PROBLEM_BASE + kind, "title": title, "status": status},
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=_NO_STORE,
    )


async def _store_call(idp: IdentityProvider, call: Callable[[], T]) -> T:
    """Run a store call off the event loop when the store waits on the network."""
    if idp.store.blocks_on_network:
        return await run_in_threadpool(call)
    return call()


def _record(
    idp: IdentityProvider, *, type: str, actor: str, request: QrRequest, details: dict[str, Any]
) -> None:
    with idp.database.transaction() as session:
        idp.events.record(
            session,
            type=type,
            actor=actor,
            subject=f"qr:{request.reference}",
            details={"client": request.client_name, **details},
        )


# --- the desktop ---------------------------------------------------------------------------


@router.post("/login/qr")
async def qr_create(
    request: Request,
    idp: IdpDep,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A new QR code for the sign-in page (its image, the number to match, the poll token)."""
    found = _interaction(request, idp, interaction)
    if found is None or found.return_to is not None:
        return _problem(404, "qr-interaction-expired", "the sign-in has expired")
    if not await run_in_threadpool(web.csrf_ok, request, idp, LOGIN_PURPOSE, csrf_token):
        return _problem(403, "csrf", "the form has expired")
    client_id = found.params.get("client_id", "")

    def create() -> dict[str, Any] | None:
        with idp.database.reading() as session:
            client = repository.client(session, client_id)
        created = _logins(idp).create(
            browser=found.browser,
            interaction=found.id,
            # A CAS sign-in names its service (idp.cas) instead of a client.
            client_name=client.name if client else found.params.get("cas_name", client_id),
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
        )
        if created is None:
            return None
        qr = created.request
        _record(
            idp,
            type="qr.created",
            actor="anonymous",
            request=qr,
            details={"address": qr.address, "device": qr.device},
        )
        url = f"{idp.issuer}/qr/{qr.id}"
        image = segno.make(url, error="m", micro=False).svg_data_uri(scale=5, border=4)
        return {
            "id": qr.id,
            "token": created.token,
            "number": qr.number,
            "url": url,
            "image": image,
            "expires_in": _logins(idp).lifetime,
        }

    made = await run_in_threadpool(create)
    if made is None:
        return _problem(429, "qr-limit", "too many QR codes for this sign-in")
    return JSONResponse(made, headers=_NO_STORE)


def _desktop_state(idp: IdentityProvider, qr_id: str, browser: str | None, token: str) -> str:
    try:
        return _logins(idp).for_desktop(qr_id, browser=browser, token=token).state
    except QrError as exc:
        return exc.reason  # expired | foreign


@router.get("/login/qr/{qr_id}/wait")
async def qr_wait(
    request: Request,
    idp: IdpDep,
    qr_id: Annotated[str, Path(max_length=64)],
    seen: Annotated[str, Query(max_length=16)] = "pending",
    wait: Annotated[float, Query(ge=0, le=WAIT_SECONDS, allow_inf_nan=False)] = WAIT_SECONDS,
) -> Response:
    """Long-poll: the request's state as soon as it differs from ``seen`` (pending, scanned,
    approved, denied, mismatched, used, expired), or ``seen`` again after ``wait`` seconds
    (at most :data:`WAIT_SECONDS`). Only the desktop's browser with the poll token may ask.
    The store is read every :data:`POLL_INTERVAL` seconds; no worker thread waits."""
    token = request.headers.get(TOKEN_HEADER, "")
    browser = request.cookies.get(BROWSER_COOKIE)
    deadline = time.monotonic() + wait
    while True:
        state = await _store_call(idp, lambda: _desktop_state(idp, qr_id, browser, token))
        if state == "foreign":
            return _problem(404, "qr-not-found", "no such QR sign-in for this browser")
        if state != seen or time.monotonic() >= deadline or await request.is_disconnected():
            return JSONResponse({"state": state}, headers=_NO_STORE)
        await asyncio.sleep(POLL_INTERVAL)


@router.post("/login/qr/{qr_id}/finish")
async def qr_finish(
    request: Request,
    idp: IdpDep,
    qr_id: str,
    interaction: Annotated[str, Form(max_length=64)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The desktop takes the phone's approval (once): its session opens with the phone
    session's methods, then the authorization request continues as after a password."""
    found = _interaction(request, idp, interaction)
    if found is None:
        return _expired(request)
    if not await run_in_threadpool(web.csrf_ok, request, idp, LOGIN_PURPOSE, csrf_token):
        return _bad_form(request)
    handle = request.cookies.get(SSO_COOKIE)

    def finish() -> Opened | str:
        try:
            taken = _logins(idp).consume(
                qr_id,
                browser=request.cookies.get(BROWSER_COOKIE),
                token=token,
                interaction=found.id,
            )
        except QrError as exc:
            return exc.reason
        with idp.database.reading() as session:
            user = repository.user(session, taken.phone_user or "")
        if user is None or user.disabled or not idp.sessions.alive(taken.phone_sid):
            return "expired"  # the phone signed out (or the person was disabled) meanwhile
        return open_session(
            idp,
            user=user,
            methods=taken.methods,
            address=web.address(request),
            user_agent=request.headers.get("user-agent", ""),
            handle=handle,
            details={"via": "qr", "phone_sid": taken.phone_sid, "qr": taken.reference},
        )

    opened = await run_in_threadpool(finish)
    if isinstance(opened, str):
        message = web.texts(request)[f"qr_failed_{opened}"]
        return await run_in_threadpool(_login_form, request, idp, found, "", message, 400)
    return await carry_on(request, idp, found, opened)


# --- the phone -------------------------------------------------------------------------------


def _phone_page(
    request: Request, *, message: str | None = None, status: int = 200, **context: Any
) -> Response:
    return web.render(request, "qr_phone.html", {"message": message, **context}, status=status)


@router.get("/qr/{qr_id}")
async def qr_phone(request: Request, idp: IdpDep, qr_id: str) -> Response:
    """What the phone opens from the QR code: which app and which device ask, and the
    numbers to pick from. A phone not signed in signs in first and comes back here."""
    t = web.texts(request)
    browser, new = browser_id(request)
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))

    def build() -> Response:
        logins = _logins(idp)
        if logins.get(qr_id) is None:
            return _phone_page(request, message=t["qr_failed_expired"], status=404)
        if sso is None:
            started = idp.interactions.start(browser=browser, params={}, return_to=f"/qr/{qr_id}")
            return web.see_other(f"/login?interaction={started.id}")
        try:
            qr, scanned = logins.scan(qr_id, user_id=sso.user_id, sid=sso.sid)
        except QrError as exc:
            return _phone_page(request, message=t[f"qr_failed_{exc.reason}"], status=400)
        with idp.database.reading() as session:
            user = repository.user(session, sso.user_id)
        if scanned:
            _record(
                idp,
                type="qr.scanned",
                actor=sso.user_id,
                request=qr,
                details={"phone_sid": sso.sid, "address": web.address(request)},
            )
        return _phone_page(
            request,
            qr=qr,
            account=user.username if user is not None else "",
            csrf_token=web.csrf_token(idp, browser, PHONE_PURPOSE),
        )

    response = await run_in_threadpool(build)
    if new:
        web.set_browser_cookie(response, idp, browser)
    return response


@router.post("/qr/{qr_id}")
async def qr_decide(
    request: Request,
    idp: IdpDep,
    qr_id: str,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    number: Annotated[str, Form(max_length=2)] = "",
    deny: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """The phone's answer: the number picked (approved when it is the desktop's; a wrong
    pick cancels the request) or a refusal."""
    t = web.texts(request)
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None:
        return _phone_page(request, message=t["account_login"], status=401)
    if not await run_in_threadpool(web.csrf_ok, request, idp, PHONE_PURPOSE, csrf_token):
        return _bad_form(request)
    picked = None if deny else number

    def decide() -> Response:
        try:
            qr = _logins(idp).decide(qr_id, sid=sso.sid, methods=sso.methods, number=picked)
        except QrError as exc:
            return _phone_page(request, message=t[f"qr_failed_{exc.reason}"], status=400)
        _record(
            idp,
            type=f"qr.{qr.state}",
            actor=sso.user_id,
            request=qr,
            details={"phone_sid": sso.sid, "address": web.address(request)},
        )
        status = 200 if qr.state == "approved" else 400 if qr.state == "mismatched" else 200
        return _phone_page(request, message=t[f"qr_phone_{qr.state}"], status=status, done=True)

    return await run_in_threadpool(decide)
