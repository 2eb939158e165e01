"""What the IdP's pages share: language, templates, cookies, CSRF tokens, the page CSP."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from core import csrf
from core.api import browser
from core.i18n import pick_language, remember_choice
from idp import device_cookies
from idp.api.texts import TEXT
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
PAGE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def address(request: Request) -> str:
    """The client address (uvicorn applies trusted X-Forwarded-For)."""
    return request.client.host if request.client else "unknown"


def _secure(idp: IdentityProvider) -> bool:
    return idp.issuer.startswith("https:")


def set_browser_cookie(response: Response, idp: IdentityProvider, value: str) -> None:
    """Attach the browser-id cookie, Secure when the issuer is https."""
    browser.set_browser_cookie(response, value, secure=_secure(idp))


def set_sso_cookie(response: Response, idp: IdentityProvider, handle: str) -> None:
    """Attach the SSO session cookie (SameSite=Lax: sent on top-level navigation from apps)."""
    response.set_cookie(
        SSO_COOKIE,
        handle,
        max_age=idp.settings.sso_session_ttl_seconds,
        httponly=True,
        secure=_secure(idp),
        samesite="lax",
        path="/",
    )


def set_device_cookie(response: Response, idp: IdentityProvider, value: str) -> None:
    """Attach the device cookie (``idp.device_cookies``): a year, HttpOnly, SameSite=Lax."""
    response.set_cookie(
        device_cookies.COOKIE,
        value,
        max_age=device_cookies.LIFETIME,
        httponly=True,
        secure=_secure(idp),
        samesite="lax",
        path="/",
    )


def clear_sso_cookie(response: Response, idp: IdentityProvider) -> None:
    """Remove the SSO session cookie."""
    response.delete_cookie(SSO_COOKIE, path="/", secure=_secure(idp), httponly=True)


def csrf_token(idp: IdentityProvider, browser: str, purpose: str) -> str:
    """The form token of ``purpose`` for this browser."""
    return csrf.token(key=idp.data_key(csrf.DATA_KEY_PURPOSE), browser_id=browser, purpose=purpose)


def csrf_ok(request: Request, idp: IdentityProvider, purpose: str, presented: str | None) -> bool:
    """Whether the form came with this browser's token for ``purpose``."""
    return csrf.valid(
        key=idp.data_key(csrf.DATA_KEY_PURPOSE),
        browser_id=request.cookies.get(csrf.BROWSER_COOKIE),
        purpose=purpose,
        presented=presented,
    )


def origin(uri: str) -> str:
    """scheme://host[:port] of ``uri``."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    form_targets: tuple[str, ...] = (),
) -> HTMLResponse:
    """A page in the visitor's language; ``form_targets`` are origins our forms may end up
    redirecting to (CSP form-action applies to redirects after a form post)."""
    lang = pick_language(request)
    other = "en" if lang == "zh-CN" else "zh-CN"
    query = dict(request.query_params)
    query["lang"] = other
    csp = PAGE_CSP + "".join(f" {target}" for target in dict.fromkeys(form_targets))
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "other_lang": other,
            "t": TEXT[lang],
            "switch_url": f"{request.url.path}?{urlencode(query)}",
            **context,
        },
        status_code=status,
        headers={
            "Content-Language": lang,
            "Content-Security-Policy": csp,
            "Cache-Control": "no-store",
            "Vary": "Accept-Language, Cookie",
        },
    )
    remember_choice(request, response)
    return response


def texts(request: Request) -> dict[str, str]:
    """The text table of the visitor's language."""
    return TEXT[pick_language(request)]


def see_other(location: str) -> RedirectResponse:
    """A 303 redirect (after a POST the browser follows with GET)."""
    return RedirectResponse(location, status_code=303)
