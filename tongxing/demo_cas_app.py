"""A demo legacy department app that speaks CAS 3.0, served by the demo process at
``/demo/cas/records/`` (档案查询): a real CAS client of our IdP that talks to it only over
HTTP (``/cas/login``, ``/cas/p3/serviceValidate``, ``/cas/logout``).

Its service URL is its home page: a browser arriving with ``?ticket=ST-…`` has the ticket
validated (CAS 3.0 attributes) and gets the app's own session (its own cookie), keyed by
the ticket; a single-logout request (``logoutRequest`` posted to the same URL, CAS §2.3.3)
ends the session of its ``SessionIndex``. It shares the SSO session with the OIDC demo apps.
"""

from __future__ import annotations

import html
import json
import re
import secrets
import xml.etree.ElementTree as ET
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from core.api.deps import services_of
from core.store import Store
from tongxing.demo_apps import _http
from tongxing.demo_data import CAS_APP_NAME, CAS_APP_PATH

router = APIRouter(prefix=CAS_APP_PATH.rstrip("/"), include_in_schema=False)
CAS = "{http://www.yale.edu/tp/cas}"
SAMLP = "{urn:oasis:names:tc:SAML:2.0:protocol}"
COOKIE = "tx_demo_cas"
SESSION_TTL = 3600
_TICKET = re.compile(r"^ST-[A-Za-z0-9-]{1,253}$")


def _store(request: Request) -> Store:
    return services_of(request).store


def _issuer(request: Request) -> str:
    return services_of(request).settings.issuer


def _service(request: Request) -> str:
    return _issuer(request) + CAS_APP_PATH


def _page(body: str) -> HTMLResponse:
    return HTMLResponse(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(CAS_APP_NAME)}</title><link rel="stylesheet" href="/static/idp/idp.css">
</head><body><header><strong>{html.escape(CAS_APP_NAME)}</strong>
<a href="/demo/apps/permits/">施工许可（演示）Permits →</a></header>
<main>{body}</main></body></html>""",
        headers={"Cache-Control": "no-store"},
    )


def _session(request: Request) -> dict[str, Any] | None:
    ref = request.cookies.get(COOKIE)
    if not ref or len(ref) > 64:
        return None
    store = _store(request)
    raw = store.get(store.key("demo", "cas-app", ref))
    return json.loads(raw) if raw else None


def _parse(document: bytes) -> ET.Element:
    """An XML document without a DTD (so no entities at all: nothing to expand or fetch)."""
    if b"<!" in document:
        raise ET.ParseError("a DTD, comment or CDATA section is not accepted here")
    return ET.fromstring(document)  # noqa: S314 - no DTD, checked above


@router.get("/")
async def home(request: Request, ticket: str | None = None) -> Response:
    """The app's page; with ``ticket``, validate it first (CAS 3.0)."""
    if ticket is not None:
        return await _validate(request, ticket)
    session = _session(request)
    if session is None:
        login = f"{_issuer(request)}/cas/login?{urlencode({'service': _service(request)})}"
        return _page(
            "<h1>未登录 Not signed in</h1><p>本应用通过 CAS 3.0 接入统一身份认证。"
            "This app signs in with CAS 3.0.</p>"
            f'<p><a class="primary" id="sign-in" href="{html.escape(login)}">'
            "统一身份认证登录 Sign in</a></p>"
        )
    a = session["attributes"]
    org = (
        f"代表 {html.escape(a['organisationName'])}（{html.escape(a['organisationCode'])}，"
        f"{html.escape(a['organisationRole'])}）"
        if a.get("organisationCode")
        else "个人 Personal"
    )
    return _page(
        f'<h1 id="who">{html.escape(a.get("displayName", ""))}</h1>'
        f'<p>身份 Acting for: <span id="org">{org}</span></p>'
        f'<p>user: <code id="user">{html.escape(session["user"])}</code><br>'
        f'acr: <code id="acr">{html.escape(a.get("acr", ""))}</code><br>'
        f'amr: <code id="amr">{html.escape(" ".join(a.get("amr", [])))}</code><br>'
        f'isFromNewLogin: <code id="new-login">{html.escape(a.get("isFromNewLogin", ""))}</code>'
        f"<br>authenticationDate: <code>{html.escape(a.get('authenticationDate', ''))}</code></p>"
        '<p><a id="sign-out" href="logout">退出登录 Sign out</a></p>'
    )


async def _validate(request: Request, ticket: str) -> Response:
    if not _TICKET.match(ticket):
        return _page('<h1>登录失败 Sign-in failed</h1><p id="error">ticket</p>')
    query = urlencode({"service": _service(request), "ticket": ticket})
    async with _http(request) as http:
        answer = await http.get(f"{_issuer(request)}/cas/p3/serviceValidate?{query}")
    try:
        root = _parse(answer.content)
    except ET.ParseError:
        root = ET.Element("none")
    ok = root.find(f"{CAS}authenticationSuccess")
    if answer.status_code != 200 or ok is None:
        failed = root.find(f"{CAS}authenticationFailure")
        code = failed.get("code", "") if failed is not None else "no answer"
        return _page(
            f'<h1>登录失败 Sign-in failed</h1><p id="error"><code>{html.escape(code)}</code></p>'
        )
    attributes: dict[str, Any] = {}
    held = ok.find(f"{CAS}attributes")
    for element in list(held) if held is not None else []:
        name = element.tag.removeprefix(CAS)
        value = element.text or ""
        if name == "amr":
            attributes.setdefault("amr", []).append(value)
        else:
            attributes[name] = value
    user = ok.findtext(f"{CAS}user") or ""
    store, ref = _store(request), secrets.token_urlsafe(24)
    record = {"user": user, "attributes": attributes, "ticket": ticket}
    store.set(store.key("demo", "cas-app", ref), json.dumps(record).encode(), ttl=SESSION_TTL)
    store.set(store.key("demo", "cas-app-ticket", ticket), ref.encode(), ttl=SESSION_TTL)
    response = RedirectResponse(CAS_APP_PATH, status_code=303)
    response.set_cookie(COOKIE, ref, httponly=True, samesite="lax", path=CAS_APP_PATH)
    return response


@router.post("/")
async def single_logout(
    request: Request,
    logout_request: Annotated[str, Form(alias="logoutRequest", max_length=8192)],
) -> Response:
    """CAS §2.3.3: end the app's session whose ticket is the request's SessionIndex."""
    try:
        root = _parse(logout_request.encode())
    except ET.ParseError:
        return Response(status_code=400)
    index = root.findtext(f"{SAMLP}SessionIndex") or ""
    if root.tag != f"{SAMLP}LogoutRequest" or not _TICKET.match(index):
        return Response(status_code=400)
    store = _store(request)
    ref = store.take(store.key("demo", "cas-app-ticket", index))
    if ref is not None:
        store.delete(store.key("demo", "cas-app", ref.decode()))
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


@router.get("/logout")
async def logout(request: Request) -> Response:
    """End the app's session, then the SSO session (CAS ``/logout``, back here after)."""
    ref = request.cookies.get(COOKIE)
    if ref and len(ref) <= 64:
        store = _store(request)
        store.delete(store.key("demo", "cas-app", ref))
    query = urlencode({"service": _service(request)})
    response = RedirectResponse(f"{_issuer(request)}/cas/logout?{query}", status_code=302)
    response.delete_cookie(COOKIE, path=CAS_APP_PATH)
    return response
