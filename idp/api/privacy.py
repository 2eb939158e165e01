"""The account page's personal-information parts (个人信息保护法): recent sign-ins, a copy of
one's data, deleting one's account, withdrawing consent to an app.

Security contract: every form carries the account page's CSRF token. Downloading the data
and deleting the account need a recent, strong sign-in (:func:`idp.step_up.recently_strong`,
else ``/account/verify``): the download gathers contacts, organisations and every sign-in
address in one file, so a session left open on a shared computer or a stolen cookie must
not be enough to take it — the same bar as changing one's sign-in methods. Withdrawing
consent takes only the session: it removes access, it reveals nothing.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from core.api.browser import browser_id
from core.i18n import beijing_time, pick_language
from idp import (
    account_deletion,
    assurance,
    backchannel,
    consent_withdrawal,
    history,
    personal_data,
    repository,
    step_up,
    user_agents,
)
from idp.api import web
from idp.api.deps import IdpDep
from idp.api.logout import propagate
from idp.api.page_parts import account_part
from idp.models import User
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from idp.sessions import SsoSession

router = APIRouter(tags=["identity"], include_in_schema=False)
CSRF_PURPOSE = "account"  # the account page's forms share one token
VERIFY = "/account/verify?return_to="
HISTORY_SHOWN = 20


@account_part(50, "account_history.html")
def history_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any]:
    """The person's latest sign-ins and step-ups: when, how, what level, from where."""
    t = web.texts(request)
    lang = pick_language(request)
    rows = []
    for record in history.recent(session, user.id, limit=HISTORY_SHOWN):
        level = assurance.level_of(record.acr)
        rows.append(
            {
                "when": beijing_time(record.at, lang),
                "kind": t.get(f"privacy_kind_{record.kind}", record.kind),
                "methods": "、".join(method_words(t, record.methods))
                if lang == "zh-CN"
                else ", ".join(method_words(t, record.methods)),
                "level": t["privacy_level"].format(level=level) if level else "",
                "device": user_agents.summarise(record.user_agent).words(
                    t["privacy_device_unknown"]
                ),
                "address": record.address,
            }
        )
    return {"rows": rows, "days": idp.settings.sign_in_retention_days}


def method_words(t: dict[str, str], methods: list[str]) -> list[str]:
    """The sign-in methods in the visitor's words (unknown names as they are)."""
    return [t.get(f"privacy_method_{m}", m) for m in dict.fromkeys(methods)]


@account_part(90, "account_privacy.html")
def privacy_part(
    request: Request, idp: IdentityProvider, session: Session, user: User, sso: SsoSession
) -> dict[str, Any]:
    """Download my data, delete my account."""
    return {}


def _strong_user(idp: IdentityProvider, sso: SsoSession) -> tuple[User | None, bool]:
    """The session's person (None when gone or disabled) and whether the session is a
    recent, strong one."""
    with idp.database.reading() as session:
        user = repository.user(session, sso.user_id)
        if user is None or user.disabled:
            return None, False
        available = step_up.enrolled(session, user)
    return user, step_up.recently_strong(sso, available=available)


async def _posted(request: Request, idp: IdentityProvider, csrf_token: str) -> SsoSession | None:
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None:
        return None
    if not await run_in_threadpool(web.csrf_ok, request, idp, CSRF_PURPOSE, csrf_token):
        return None
    return sso


@router.post("/account/export")
async def export(
    request: Request, idp: IdpDep, csrf_token: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """A copy of the person's data as a JSON download (after a fresh, strong sign-in)."""
    sso = await _posted(request, idp, csrf_token)
    if sso is None:
        return web.see_other("/account")

    def build() -> dict[str, Any] | str:
        user, strong = _strong_user(idp, sso)
        if user is None:
            return "/account"
        if not strong:
            return VERIFY + "/account"
        live = [s for _, s in idp.sessions.of_user(user.id)]
        with idp.database.transaction() as session:
            current = repository.user(session, user.id)
            if current is None:
                return "/account"
            return personal_data.export(
                session,
                events=idp.events,
                user=current,
                live_sessions=live,
                issuer=idp.issuer,
                address=web.address(request),
            )

    document = await run_in_threadpool(build)
    if isinstance(document, str):
        return web.see_other(document)
    day = datetime.now(UTC).strftime("%Y%m%d")
    return Response(
        json.dumps(document, ensure_ascii=False, indent=2).encode(),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="tongxing-personal-data-{day}.json"',
            "Cache-Control": "no-store",
        },
    )


def _refusal_words(request: Request, refusal: account_deletion.Refusal) -> str:
    t = web.texts(request)
    return t[f"privacy_refused_{refusal.reason}"].format(detail=refusal.detail)


@router.get("/account/delete")
async def delete_page(request: Request, idp: IdpDep) -> Response:
    """What deleting the account does, and the confirmation (or why it is refused)."""
    sso = idp.sessions.get(request.cookies.get(SSO_COOKIE))
    if sso is None:
        return web.see_other("/account")
    browser, new = browser_id(request)

    def build() -> Response:
        user, strong = _strong_user(idp, sso)
        if user is None:
            return web.see_other("/account")
        if not strong:
            return web.see_other(VERIFY + "/account/delete")
        with idp.database.reading() as session:
            refused = account_deletion.refusal(session, user)
        return web.render(
            request,
            "account_delete.html",
            {
                "refusal": _refusal_words(request, refused) if refused else None,
                "days": idp.settings.account_deletion_grace_days,
                "csrf_token": web.csrf_token(idp, browser, CSRF_PURPOSE),
            },
        )

    response = await run_in_threadpool(build)
    if new:
        web.set_browser_cookie(response, idp, browser)
    return response


@router.post("/account/delete")
async def delete(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The person confirmed: disable the account now, end every session, purge later."""
    sso = await _posted(request, idp, csrf_token)
    if sso is None:
        return web.see_other("/account")
    if confirm != "yes":
        return web.see_other("/account/delete")

    def ask() -> account_deletion.Requested | account_deletion.Refusal | str:
        user, strong = _strong_user(idp, sso)
        if user is None:
            return "/account"
        if not strong:
            return VERIFY + "/account/delete"
        with idp.database.transaction() as session:
            return account_deletion.request(
                session,
                events=idp.events,
                user_id=user.id,
                grace_days=idp.settings.account_deletion_grace_days,
            )

    outcome = await run_in_threadpool(ask)
    if isinstance(outcome, str):
        return web.see_other(outcome)
    if isinstance(outcome, account_deletion.Refusal):
        return web.render(
            request,
            "account_delete.html",
            {"refusal": _refusal_words(request, outcome), "days": 0, "csrf_token": ""},
            status=409,
        )
    for grant_id in outcome.revoked_grants:
        idp.grant_revoked(grant_id)
    when = beijing_time(outcome.purge_after, pick_language(request), seconds=False)
    response = web.render(request, "account_deleted.html", {"when": when})
    web.clear_sso_cookie(response, idp)
    for reference, _ in idp.sessions.of_user(sso.user_id):
        ended = idp.sessions.end_by_reference(sso.user_id, reference)
        if ended is not None:
            await propagate(idp, ended, reason="account-deletion", response=response)
    return response


@router.post("/account/apps/withdraw")
async def withdraw(
    request: Request,
    idp: IdpDep,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    client_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Withdraw consent to one app: its access ends and it is signed out of my sessions."""
    sso = await _posted(request, idp, csrf_token)
    response = web.see_other("/account")
    if sso is None or not client_id:
        return response
    done = await run_in_threadpool(
        lambda: consent_withdrawal.withdraw(idp, user_id=sso.user_id, client_id=client_id)
    )
    if done is not None and done.deliveries:
        response.background = BackgroundTask(backchannel.deliver, idp, done.deliveries)
    return response
