"""A scripted browser for the console: signs in through the IdP like a person would."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

from tests import oidc

ISSUER = "http://127.0.0.1:8000"


def browser(client: TestClient) -> TestClient:
    """A fresh browser (its own cookies) on the issuer's address."""
    return TestClient(client.app, base_url=ISSUER)


def sign_in(client: TestClient, login: str, *, organisation: str = "") -> TestClient:
    """A browser signed in to the console as ``login`` (acting for ``organisation``)."""
    page = browser(client)
    response = finish_sign_in(page, login, organisation=organisation)
    assert response.status_code == 303, response.text[:500]
    assert response.headers["location"] == "/admin/"
    return page


def finish_sign_in(page: TestClient, login: str, *, organisation: str = "") -> httpx.Response:
    """Run /admin/login through the IdP's pages; returns the console callback's answer."""
    started = page.get("/admin/login", follow_redirects=False)
    assert started.status_code == 303
    authorize = started.headers["location"]
    assert authorize.startswith(f"{ISSUER}/authorize?")
    response = page.get(authorize, follow_redirects=False)
    target = oidc.location(response)
    if target.startswith("/login?"):
        form = page.get(target)
        response = oidc.submit_login(page, form.text, login=login)
    final = oidc.follow_to_rp(page, response, organisation=organisation)
    assert final.startswith(f"{ISSUER}/admin/callback?"), final
    return page.get(urlsplit(final).path + "?" + urlsplit(final).query, follow_redirects=False)


def csrf(html: str, action: str) -> str:
    """The CSRF token of the form posting to ``action`` on a page."""
    form = re.search(
        rf'action="{re.escape(action)}".*?name="csrf_token" value="([^"]+)"', html, re.S
    )
    assert form, f"no form posting to {action}"
    return form.group(1)


def form_token(page: TestClient, purpose: str) -> str:
    """This browser's CSRF token for console forms of ``purpose`` (as a page would carry)."""
    from core import csrf
    from core.api.deps import runtime_of
    from idp.runtime import IdentityProvider

    idp = runtime_of(page.app).get(IdentityProvider)  # type: ignore[arg-type]
    return csrf.token(
        key=idp.data_key(csrf.DATA_KEY_PURPOSE),
        browser_id=page.cookies.get(csrf.BROWSER_COOKIE, domain="127.0.0.1") or "",
        purpose=f"console:{purpose}",
    )


def hidden(html: str, action: str) -> dict[str, str]:
    """The hidden fields (CSRF token, version) of the form posting to ``action`` on a page."""
    import html as entities

    form = re.search(rf'method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', html, re.S)
    assert form, f"no form posting to {action}"
    return {
        name: entities.unescape(value)
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(1)
        )
    }


def refusals(domain: object, actor: str) -> list[str]:
    """The subjects (acts) of the ``admin.refused`` events with ``actor``, oldest first."""
    from sqlalchemy import select

    from audit.models import AuditEntry

    with domain.keys.database.reading() as session:  # type: ignore[attr-defined]
        rows = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.type == "admin.refused", AuditEntry.actor == actor)
            .order_by(AuditEntry.index)
        ).all()
        return [row.subject for row in rows]
