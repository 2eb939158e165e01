"""Two demo department apps served by the demo process, ``/demo/apps/permits`` and
``/demo/apps/housing``: real relying parties of our IdP that speak to it only over HTTP
(discovery, JWKS, token endpoint, logout) and verify every token they receive.

Each keeps its own session (its own cookie) and honours back-channel logout, so signing
out of one signs the person out of both. The housing app asks for a higher level of
assurance (``acr_values``, :data:`tongxing.demo_data.APP_LEVELS`) and checks the ``acr`` it
gets: a person signed in to the permits app with a password is asked for a second factor,
not signed out.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from core.api.deps import runtime_of, services_of
from core.store import Store
from idp.assurance import level_of
from tongxing.demo_data import APP_LEVELS, APPS, app_acr, client_id

router = APIRouter(prefix="/demo/apps", include_in_schema=False)
SESSION_TTL = 3600
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"


@dataclass
class DemoLink:
    """How the demo apps reach the issuer: None is the network; tests go straight into the
    app (still HTTP semantics)."""

    transport: httpx.AsyncBaseTransport | None = None


def _store(request: Request) -> Store:
    return services_of(request).store


def _issuer(request: Request) -> str:
    return services_of(request).settings.issuer


def _http(request: Request) -> httpx.AsyncClient:
    transport = runtime_of(request.app).get(DemoLink).transport
    return httpx.AsyncClient(transport=transport, timeout=10)


def _cookie(app: str) -> str:
    return f"tx_demo_{app}"


def _known(app: str) -> None:
    if app not in APPS:
        from core.errors import Problem

        raise Problem(status=404, kind="not-found", title="No such demo app", detail=app)


async def _keys(request: Request) -> KeySet:
    async with _http(request) as http:
        found = (await http.get(_issuer(request) + "/jwks")).json()
    return KeySet.import_key_set(found)


def _page(app: str, body: str) -> HTMLResponse:
    other = next(a for a in APPS if a != app)
    return HTMLResponse(
        f"""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(APPS[app])}</title><link rel="stylesheet" href="/static/idp/idp.css"></head>
<body><header><strong>{html.escape(APPS[app])}</strong>
<a href="/demo/apps/{other}/">{html.escape(APPS[other])} →</a></header>
<main>{body}</main></body></html>"""
    )


@router.get("/{app}/")
async def home(app: str, request: Request) -> HTMLResponse:
    """Who is signed in to this app (or a sign-in button)."""
    _known(app)
    session = _session(request, app)
    needs = app_acr(app)
    asks = (
        f'<p id="needs">本应用要求 This app asks for: <code>{html.escape(needs)}</code> '
        "（实名 + 第二因素 verified name + second factor）</p>"
        if needs
        else ""
    )
    if session is None:
        return _page(
            app,
            '<h1>未登录 Not signed in</h1><p><a class="primary" id="sign-in" '
            f'href="/demo/apps/{app}/login">统一身份认证登录 Sign in</a></p>{asks}',
        )
    claims = session["claims"]
    org = claims.get("org")
    acting = (
        f"代表 {html.escape(org['name'])}（{html.escape(org['code'])}，{html.escape(org['role'])}）"
        if org
        else "个人 Personal"
    )
    return _page(
        app,
        f'<h1 id="who">{html.escape(str(claims.get("name", "")))}</h1>'
        f"<p>身份 Acting for: {acting}</p>"
        f"<p>sub: <code>{html.escape(claims['sub'])}</code><br>acr: "
        f'<code id="acr">{html.escape(str(claims.get("acr")))}</code><br>amr: '
        f'<code id="amr">{html.escape(" ".join(map(str, claims.get("amr") or [])))}</code></p>'
        f'<p><a id="sign-out" href="/demo/apps/{app}/logout">退出登录 Sign out</a></p>',
    )


def _session(request: Request, app: str) -> dict[str, Any] | None:
    ref = request.cookies.get(_cookie(app))
    if not ref or len(ref) > 64:
        return None
    raw = _store(request).get(_store(request).key("demo", f"rp-{app}", ref))
    return json.loads(raw) if raw else None


@router.get("/{app}/login")
async def login(app: str, request: Request) -> Response:
    """Start the authorization code flow with PKCE."""
    _known(app)
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    verifier = secrets.token_urlsafe(48)  # RFC 7636 §4.1: 43 to 128 characters
    store = _store(request)
    store.set(
        store.key("demo", f"rp-{app}-auth", state),
        json.dumps({"nonce": nonce, "verifier": verifier}).encode(),
        ttl=600,
    )
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    needs = {"acr_values": acr} if (acr := app_acr(app)) else {}
    query = urlencode(
        {
            **needs,
            "response_type": "code",
            "client_id": client_id(app),
            "redirect_uri": f"{_issuer(request)}/demo/apps/{app}/callback",
            "scope": "openid profile email",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
        }
    )
    response = RedirectResponse(f"{_issuer(request)}/authorize?{query}", status_code=302)
    # state is also bound to this browser, so nobody can hand it someone else's callback.
    response.set_cookie(
        f"{_cookie(app)}_state", state, httponly=True, samesite="lax", path=f"/demo/apps/{app}/"
    )
    return response


@router.get("/{app}/callback")
async def callback(app: str, request: Request) -> Response:
    """Check the response, redeem the code, verify the ID token, open the app's session."""
    _known(app)
    params = request.query_params
    issuer, store = _issuer(request), _store(request)
    state = params.get("state") or "-"
    raw = store.take(store.key("demo", f"rp-{app}-auth", state))
    bound = secrets.compare_digest(request.cookies.get(f"{_cookie(app)}_state", ""), state)
    if raw is None or not bound or params.get("iss") != issuer:
        return _page(app, "<h1>登录失败 Sign-in failed</h1><p>state / iss</p>")
    if "error" in params:
        detail = params.get("error_description", "")
        return _page(
            app,
            f'<h1>登录失败 Sign-in failed</h1><p id="error"><code>{html.escape(params["error"])}'
            f"</code></p><p>{html.escape(detail)}</p>",
        )
    pending = json.loads(raw)
    async with _http(request) as http:
        tokens = await http.post(
            issuer + "/token",
            data={
                "grant_type": "authorization_code",
                "code": params.get("code", ""),
                "redirect_uri": f"{issuer}/demo/apps/{app}/callback",
                "client_id": client_id(app),
                "code_verifier": pending["verifier"],
            },
        )
    if tokens.status_code != 200:
        detail = html.escape(tokens.json().get("error", "token endpoint"))
        return _page(app, f"<h1>登录失败 Sign-in failed</h1><p>{detail}</p>")
    body = tokens.json()
    try:
        token = jwt.decode(body["id_token"], await _keys(request))
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id(app)},
            nonce={"essential": True, "value": pending["nonce"]},
            exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError):
        return _page(app, "<h1>登录失败 Sign-in failed</h1><p>ID token</p>")
    reached = level_of(str(token.claims.get("acr", ""))) or 0
    if reached < APP_LEVELS.get(app, 0):  # asked as a minimum: never accept less
        return _page(app, "<h1>登录失败 Sign-in failed</h1><p>acr</p>")
    async with _http(request) as http:
        info = await http.get(
            issuer + "/userinfo", headers={"authorization": f"Bearer {body['access_token']}"}
        )
    claims = {**token.claims, **(info.json() if info.status_code == 200 else {})}
    ref = secrets.token_urlsafe(24)
    record = {"claims": claims, "id_token": body["id_token"], "sid": claims.get("sid")}
    store.set(store.key("demo", f"rp-{app}", ref), json.dumps(record).encode(), ttl=SESSION_TTL)
    if claims.get("sid"):
        store.set(store.key("demo", f"rp-{app}-sid", claims["sid"]), ref.encode(), ttl=SESSION_TTL)
    response = RedirectResponse(f"/demo/apps/{app}/", status_code=303)
    response.set_cookie(_cookie(app), ref, httponly=True, samesite="lax", path=f"/demo/apps/{app}/")
    return response


@router.get("/{app}/logout")
async def logout(app: str, request: Request) -> Response:
    """End the app's session and ask the IdP to end the SSO session (RP-initiated logout)."""
    _known(app)
    store, issuer = _store(request), _issuer(request)
    session = _session(request, app)
    ref = request.cookies.get(_cookie(app))
    if ref:
        store.delete(store.key("demo", f"rp-{app}", ref))
    params = {"post_logout_redirect_uri": f"{issuer}/demo/apps/{app}/", "client_id": client_id(app)}
    if session is not None:
        params["id_token_hint"] = session["id_token"]
    response = RedirectResponse(f"{issuer}/logout?{urlencode(params)}", status_code=302)
    response.delete_cookie(_cookie(app), path=f"/demo/apps/{app}/")
    return response


@router.post("/{app}/backchannel-logout")
async def backchannel_logout(
    app: str, request: Request, logout_token: str = Form(max_length=8192)
) -> Response:
    """Back-Channel Logout §2.6: validate the logout token, end the sessions of its sid."""
    _known(app)
    issuer, store = _issuer(request), _store(request)
    try:
        token = jwt.decode(logout_token, await _keys(request))
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": issuer},
            aud={"essential": True, "value": client_id(app)},
            iat={"essential": True},
            exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError):
        return Response(status_code=400)
    claims = token.claims
    if (
        token.header.get("typ") != "logout+jwt"
        or "nonce" in claims
        or LOGOUT_EVENT not in claims.get("events", {})
        or not claims.get("sid")
        or claims.get("iat", 0) > time.time() + 60
    ):
        return Response(status_code=400)
    ref = store.take(store.key("demo", f"rp-{app}-sid", claims["sid"]))
    if ref is not None:
        store.delete(store.key("demo", f"rp-{app}", ref.decode()))
    return Response(status_code=200, headers={"Cache-Control": "no-store"})
