"""A development simulator of a ticket-style provincial platform (demo mode only), at
``/demo/province``: it speaks :class:`idp.ticket_bridge.JsonTicketPlatform`'s variant, and the
demo registers it as the upstream ``province-sim`` (its address follows the demo's).

People pick who they are on its login page (no password: it is a simulator, served in demo
mode only); 法人账号切换 picks an enterprise account of theirs. Tickets are single use and
live two minutes, bound to the service URL they were issued for; tokens ten minutes; the
platform's own session is a cookie of its own. Only services under our
``/login/upstream/`` are served, and only the demo's app id and secret are accepted.
"""

from __future__ import annotations

import html
import json
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from core.api.deps import services_of
from core.store import Store
from idp import upstreams
from idp.models import UpstreamProvider
from tongxing.composition import Domain
from tongxing.demo_data import ENTERPRISE_USCC

router = APIRouter(prefix="/demo/province", include_in_schema=False)
UPSTREAM_ID = "province-sim"
APP_ID = "tongxing-demo"
# Demo mode only: the simulator and the demo agree on it (no real platform accepts it).
APP_SECRET = "demo-province-app-secret"  # noqa: S105
COOKIE = "tx_demo_province"
TICKET_TTL, TOKEN_TTL, SESSION_TTL = 120, 600, 3600
PEOPLE: dict[str, dict[str, Any]] = {
    "wangwu": {
        "userName": "王五",
        "idCardNo": "110101199003074477",
        "mobile": "13900000001",
        "authLevel": "2",
        "corps": {ENTERPRISE_USCC: "某某科技有限公司"},
    },
    "sunqi": {
        "userName": "孙七",
        "idCardNo": "11010519491231002X",
        "mobile": "13900000003",
        "authLevel": "3",
        "corps": {},
    },
}


def seed(domain: Domain, *, issuer: str) -> None:
    """Register the simulator as the upstream ``province-sim``, or point it at the demo's
    current address."""
    base = f"{issuer}/demo/province"
    with domain.keys.database.transaction() as session:
        found = session.get(UpstreamProvider, UPSTREAM_ID)
        if found is None:
            upstreams.create(
                session,
                data_keys=domain.data_keys,
                events=domain.audit,
                actor="demo",
                upstream_id=UPSTREAM_ID,
                protocol="ticket:json-v1",
                name_zh="省统一身份认证平台（模拟）",
                name_en="the Provincial Platform (simulated)",
                discovery_url=base,
                client_id=APP_ID,
                client_secret=APP_SECRET,
                scopes=[],
                claim_map={"name": "name", "national_id": "national_id", "phone": "phone"},
                acr_map={"2": 2, "3": 3},
                trusted_proofing_level=2,
            )
        elif found.issuer != base:
            found.discovery_url = found.issuer = base
            found.updated_at = datetime.now(UTC)
            domain.audit.record(
                session,
                type="upstream.updated",
                actor="demo",
                subject=UPSTREAM_ID,
                details={"reason": "the demo's address changed", "issuer": base},
            )


def _store(request: Request) -> Store:
    return services_of(request).store


def _service_ok(request: Request, app_id: str, service: str) -> bool:
    issuer = services_of(request).settings.issuer
    return app_id == APP_ID and service.startswith(f"{issuer}/login/upstream/")


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1>{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _form(action: str, fields: dict[str, str], label: str, button_id: str) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<form method="post" action="{action}">{hidden}'
        f'<button type="submit" id="{button_id}">{html.escape(label)}</button></form>'
    )


def _signed_in(request: Request) -> str | None:
    sid = request.cookies.get(COOKIE)
    raw = _store(request).get(_store(request).key("demo", "province-session", sid)) if sid else None
    return raw.decode() if raw is not None else None


def _issue(request: Request, *, person: str, corp: str | None, service: str) -> Response:
    store = _store(request)
    ticket = "ST-" + secrets.token_urlsafe(24)
    record = {"person": person, "corp": corp, "service": service}
    store.set(
        store.key("demo", "province-ticket", ticket), json.dumps(record).encode(), ttl=TICKET_TTL
    )
    separator = "&" if "?" in service else "?"
    return RedirectResponse(f"{service}{separator}{urlencode({'ticket': ticket})}", status_code=303)


@router.get("/login")
async def login_page(
    request: Request,
    service: str = "",
    appId: str = "",  # noqa: N803
    switch: str = "",
) -> Response:
    """Who are you? (a simulator: pick a person)."""
    if not _service_ok(request, appId, service):
        return _page("未登记的应用", "<p>service 或 appId 不正确。</p>", status=400)
    person = _signed_in(request)
    if person is not None and not switch:  # signed in at the platform already: a ticket
        return _issue(request, person=person, corp=None, service=service)
    buttons = "".join(
        _form(
            "/demo/province/login",
            {"person": key, "service": service, "appId": appId, "switch": switch},
            f"以 {p['userName']} 登录",
            f"province-{key}",
        )
        for key, p in PEOPLE.items()
    )
    return _page("省统一身份认证平台（模拟）", buttons)


@router.post("/login")
async def login(
    request: Request,
    person: Annotated[str, Form(max_length=32)] = "",
    service: Annotated[str, Form(max_length=1024)] = "",
    appId: Annotated[str, Form(max_length=64)] = "",  # noqa: N803
    switch: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """Signed in at the platform: its session cookie, and a ticket for the service (or, on
    the way to 法人账号切换, the enterprise accounts to pick from)."""
    if person not in PEOPLE or not _service_ok(request, appId, service):
        return _page("无法登录", "<p>请求不正确。</p>", status=400)
    store, sid = _store(request), secrets.token_urlsafe(24)
    store.set(store.key("demo", "province-session", sid), person.encode(), ttl=SESSION_TTL)
    response: Response
    if switch:
        query = urlencode({"service": service, "appId": appId})
        response = RedirectResponse(f"/demo/province/switchCorp?{query}", status_code=303)
    else:
        response = _issue(request, person=person, corp=None, service=service)
    response.set_cookie(COOKIE, sid, max_age=SESSION_TTL, httponly=True, samesite="lax")
    return response


@router.get("/switchCorp")
async def switch_page(request: Request, service: str = "", appId: str = "") -> Response:  # noqa: N803
    """法人账号切换: pick one of the signed-in person's enterprise accounts."""
    if not _service_ok(request, appId, service):
        return _page("未登记的应用", "<p>service 或 appId 不正确。</p>", status=400)
    person = _signed_in(request)
    if person is None:
        return await login_page(request, service=service, appId=appId, switch="1")
    corps = PEOPLE[person]["corps"]
    buttons = "".join(
        _form(
            "/demo/province/switchCorp",
            {"uscc": uscc, "service": service, "appId": appId},
            f"切换到 {name}",
            f"corp-{uscc}",
        )
        for uscc, name in corps.items()
    )
    return _page("法人账号切换", buttons or "<p id='no-corp'>您名下没有法人账号。</p>")


@router.post("/switchCorp")
async def switch(
    request: Request,
    uscc: Annotated[str, Form(max_length=18)] = "",
    service: Annotated[str, Form(max_length=1024)] = "",
    appId: Annotated[str, Form(max_length=64)] = "",  # noqa: N803
) -> Response:
    """A ticket for the enterprise account."""
    person = _signed_in(request)
    if person is None or uscc not in PEOPLE[person]["corps"]:
        return _page("无法切换", "<p>请先登录。</p>", status=400)
    if not _service_ok(request, appId, service):
        return _page("未登记的应用", "<p>service 或 appId 不正确。</p>", status=400)
    return _issue(request, person=person, corp=uscc, service=service)


def _answer(data: dict[str, Any] | None, *, code: int = 0) -> JSONResponse:
    return JSONResponse({"code": code, "data": data}, headers={"Cache-Control": "no-store"})


@router.post("/api/ticket/validate")
async def validate(
    request: Request,
    appId: Annotated[str, Form(max_length=64)] = "",  # noqa: N803
    appSecret: Annotated[str, Form(max_length=128)] = "",  # noqa: N803
    ticket: Annotated[str, Form(max_length=512)] = "",
    service: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Server-side: a ticket (once, for its service) for a token."""
    if appId != APP_ID or not secrets.compare_digest(appSecret, APP_SECRET):
        return _answer(None, code=401)
    store = _store(request)
    raw = store.take(store.key("demo", "province-ticket", ticket)) if ticket else None
    record = json.loads(raw) if raw is not None else None
    if record is None or record["service"] != service:
        return _answer(None, code=1001)
    token = secrets.token_urlsafe(32)
    grant = {"person": record["person"], "corp": record["corp"]}
    store.set(store.key("demo", "province-token", token), json.dumps(grant).encode(), ttl=TOKEN_TTL)
    return _answer({"token": token})


@router.get("/api/user/info")
async def user_info(
    request: Request, token: Annotated[str, Header(max_length=128)] = ""
) -> Response:
    """Server-side: the person (and the enterprise account) a token is for."""
    store = _store(request)
    raw = store.get(store.key("demo", "province-token", token)) if token else None
    if raw is None:
        return _answer(None, code=1002)
    grant = json.loads(raw)
    person = PEOPLE[grant["person"]]
    data = {k: v for k, v in person.items() if k != "corps"}
    data["userId"] = "P-" + grant["person"]
    if grant["corp"]:
        data["corpCreditCode"] = grant["corp"]
        data["corpName"] = person["corps"][grant["corp"]]
    return _answer(data)


@router.get("/logout")
async def logout(request: Request, service: str = "") -> Response:
    """Sign out at the platform, then back to the service (ours only)."""
    sid = request.cookies.get(COOKIE)
    if sid:
        _store(request).delete(_store(request).key("demo", "province-session", sid))
    issuer = services_of(request).settings.issuer
    target = service if service.startswith(f"{issuer}/login/upstream/") else "/"
    response = RedirectResponse(target, status_code=303)
    response.delete_cookie(COOKIE)
    return response
