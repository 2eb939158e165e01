"""What the console's pages share: the signed-in administrator, the page layer (the IdP's
base template and stylesheet, one CSP), CSRF on every form, and refusals shown as pages.

Security contract of :func:`current`: a page is served only to a browser holding a live
console session (``admin.console.signin.load``: token verified, IdP session going); the
acting :class:`~admin.actors.Actor` is built from that token by
``admin.actors.from_token``, the same rule book as the admin API. Every POST must carry
the CSRF token of its form's purpose, bound to the browser cookie (``core.csrf``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, FileSystemLoader
from starlette.concurrency import run_in_threadpool

import idp as idp_package
from admin import actors, versions
from admin.actors import ROLE_NAMES, Actor
from admin.console import signin
from admin.console.texts import TEXT
from admin.errors import AdminError, PreconditionRequired
from admin.service import Administration
from core.api.browser import browser_id
from core.api.deps import runtime_of
from core.i18n import beijing_time, pick_language, remember_choice
from idp import assurance
from idp.api import web as idp_web
from idp.runtime import IdentityProvider

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
templates.env.loader = ChoiceLoader(
    [
        FileSystemLoader(Path(__file__).parent / "templates"),
        FileSystemLoader(Path(idp_package.__file__).parent / "templates"),  # base.html
    ]
)


class SignInNeeded(Exception):
    """No live console session: the browser is sent to sign in."""


@dataclass
class Console:
    """One console request: who acts, in which language, with which services."""

    request: Request
    idp: IdentityProvider
    admin: Administration
    actor: Actor
    session: signin.Signed
    browser: str
    new_browser: bool

    @property
    def lang(self) -> str:
        return pick_language(self.request)

    @property
    def t(self) -> dict[str, Any]:
        return TEXT[self.lang]

    def csrf(self, purpose: str) -> str:
        """The token for a form of ``purpose`` in this browser."""
        return idp_web.csrf_token(self.idp, self.browser, f"console:{purpose}")

    def csrf_ok(self, purpose: str, presented: str | None) -> bool:
        """Whether a posted form carries this browser's token for ``purpose``."""
        return idp_web.csrf_ok(self.request, self.idp, f"console:{purpose}", presented)


def _administration(request: Request) -> Administration:
    return runtime_of(request.app).get(Administration)


def current(request: Request) -> Console:
    """The signed-in administrator of this request, or :class:`SignInNeeded`."""
    idp = runtime_of(request.app).get(IdentityProvider)
    signed = signin.load(idp, request.cookies.get(signin.COOKIE))
    if signed is None:
        raise SignInNeeded
    admin = _administration(request)
    with admin.database.reading() as session:
        actor = actors.from_token(session, signed.token)
    if actor is None:
        raise SignInNeeded
    if actor.kind == "person" and (actor.level or 1) < assurance.ADMIN_LEVEL:
        # Too weak for an administrator (or the person's level was lowered): signing in
        # again asks the IdP for admin scopes, which sends the session through step-up.
        raise SignInNeeded
    browser, new = browser_id(request)
    return Console(
        request=request,
        idp=idp,
        admin=admin,
        actor=actor,
        session=signed,
        browser=browser,
        new_browser=new,
    )


ConsoleDep = Annotated[Console, Depends(current)]


def sign_in_redirect(request: Request) -> RedirectResponse:
    """Send the browser to sign in, coming back to the page it asked for."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/admin/login?next=" + quote(target, safe=""), status_code=303)


def roles_of(actor: Actor) -> list[str]:
    """What the actor acts as in this session, for the header."""
    held = [ROLE_NAMES[actor.role]] if actor.role else []
    if actor.organisations:
        held.append("单位管理员 organisation administrator")
    return held


def nav(c: Console) -> list[tuple[str, str]]:
    """The screens this administrator can use (each screen still checks its rule)."""
    role, org = c.actor.role, bool(c.actor.organisations)
    screens = [("dashboard", "/admin/", True)]
    screens += [
        ("people", "/admin/people", role == actors.SYSTEM or org),
        ("organisations", "/admin/organisations", role == actors.SYSTEM or org),
        ("clients", "/admin/clients", role == actors.SYSTEM or org),
        ("cas_services", "/admin/cas-services", role == actors.SYSTEM),
        ("roles", "/admin/roles", role is not None),
        ("applications", "/admin/seal-applications", role == actors.SECURITY or org),
        ("seals", "/admin/seals", role is not None or org),
        ("grants", "/admin/grants", role is not None or org),
        ("keys", "/admin/keys", role is not None),
        ("upstreams", "/admin/upstreams", role is not None),
        ("audit", "/admin/audit", role == actors.AUDIT),
    ]
    return [(c.t["nav"][name], href) for name, href, shown in screens if shown]


def when(moment: Any, lang: str) -> str:
    """A time as people in China read it (ISO text or datetime)."""
    if moment is None or moment == "":
        return ""
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return str(moment)
    return beijing_time(moment, lang)


def render(
    c: Console | None,
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
) -> HTMLResponse:
    """A console page in the visitor's language, with the IdP pages' CSP."""
    lang = pick_language(request)
    other = "en" if lang == "zh-CN" else "zh-CN"
    query = dict(request.query_params)
    query["lang"] = other
    response = templates.TemplateResponse(
        request,
        template,
        {
            "lang": lang,
            "other_lang": other,
            "t": TEXT[lang],
            "switch_url": f"{request.url.path}?{urlencode(query)}",
            "when": lambda moment: when(moment, lang),
            "console": c,
            "nav": nav(c) if c else [],
            "held": roles_of(c.actor) if c else [],
            "path": request.url.path,
            **context,
        },
        status_code=status,
        headers={
            "Content-Language": lang,
            "Content-Security-Policy": idp_web.PAGE_CSP,
            "Cache-Control": "no-store",
            "Vary": "Accept-Language, Cookie",
        },
    )
    remember_choice(request, response)
    if c is not None and c.new_browser:
        idp_web.set_browser_cookie(response, c.idp, c.browser)
    return response


def refused(c: Console, exc: AdminError) -> HTMLResponse:
    """A refusal of the rule book as a page (its status, its words)."""
    return render(
        c,
        c.request,
        "refused.html",
        {"status": exc.status, "kind": exc.kind, "detail": exc.detail},
        status=exc.status,
    )


def bad_form(c: Console) -> HTMLResponse:
    """A form without this browser's CSRF token."""
    return render(
        c,
        c.request,
        "refused.html",
        {"status": 403, "kind": "csrf", "detail": c.t["csrf"]},
        status=403,
    )


def page(
    c: Console, template: str, build: Callable[[], dict[str, Any]], *, status: int = 200
) -> HTMLResponse:
    """Render ``template`` with what ``build`` reads through the rule book, or the refusal."""
    try:
        context = build()
    except AdminError as exc:
        return refused(c, exc)
    return render(c, c.request, template, context, status=status)


def done(location: str) -> Response:
    """After a successful form: back to a page with GET (303)."""
    return RedirectResponse(location, status_code=303)


def if_match(version: str | None) -> str:
    """The version a form was rendered from, as ``If-Match``: an update posted without one
    is refused (428) like an API update, never applied blindly."""
    if not version:
        raise PreconditionRequired("the form does not say which version it was read from")
    return version


def with_versions(listing: dict[str, Any]) -> dict[str, Any]:
    """A list page whose items carry their ETags (for the forms acting on them)."""
    return {**listing, "items": [{**i, "etag": versions.etag(i)} for i in listing["items"]]}


async def act(c: Console, purpose: str, csrf: str, run: Callable[[], Any], then: str) -> Response:
    """Check the form's token, run one act of the rule book, go to ``then`` with GET (or
    show the refusal)."""
    if not c.csrf_ok(purpose, csrf):
        return bad_form(c)
    try:
        await run_in_threadpool(run)
    except AdminError as exc:
        return refused(c, exc)
    return done(then)
