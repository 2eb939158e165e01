"""The demo's promise: sign in on one demo app, the other knows you; sign out of one and
both are signed out (RP-initiated + back-channel logout), as the README tour shows."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from core.api.deps import runtime_of
from idp.runtime import IdentityProvider
from tests import oidc
from tests.oidc import location
from tongxing import create_app
from tongxing.demo_apps import DemoLink
from tongxing.demo_data import DEMO_PASSWORD, ENTERPRISE_USCC


def _in_process(app: FastAPI) -> None:
    """The demo apps and logout tokens reach the IdP through the app itself (no server)."""
    runtime = runtime_of(app)
    runtime.get(DemoLink).transport = httpx.ASGITransport(app=app)
    runtime.get(IdentityProvider).backchannel_transport = httpx.ASGITransport(app=app)


@pytest.fixture
def demo(make_settings: Callable[..., Any]) -> Iterator[TestClient]:
    app = create_app(make_settings(mode="demo"))
    _in_process(app)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


def _go(browser: TestClient, url: str) -> httpx.Response:
    """Follow redirects like a browser; pages on our own origin only."""
    for _ in range(10):
        response = browser.get(url, follow_redirects=False)
        if response.status_code not in (302, 303):
            return response
        url = location(response)
    raise AssertionError("redirect loop")


def _sign_in(browser: TestClient, app: str, login: str, organisation: str | None = None) -> str:
    page = _go(browser, f"/demo/apps/{app}/login")
    assert "登录" in page.text
    response = oidc.submit_login(browser, page.text, login=login, password=DEMO_PASSWORD)
    if organisation is not None:
        choice = _go(browser, location(response)).text
        response = browser.post(
            "/login/organisation",
            data={
                "interaction": oidc.hidden(choice, "interaction"),
                "csrf_token": oidc.hidden(choice, "csrf_token"),
                "organisation": organisation,
            },
            follow_redirects=False,
        )
    return _go(browser, location(response)).text


def test_single_sign_on_and_single_logout_across_the_demo_apps(demo: TestClient) -> None:
    assert "未登录" in _go(demo, "/demo/apps/permits/").text
    page = _sign_in(demo, "permits", "citizen")
    assert "张三" in page
    assert "个人" in page
    housing = _go(demo, "/demo/apps/housing/login")  # no password typed: SSO
    assert "张三" in housing.text
    signed_out = _go(demo, "/demo/apps/housing/logout")
    assert "未登录" in signed_out.text
    assert "未登录" in _go(demo, "/demo/apps/permits/").text  # back-channel logout reached it
    silent = oidc.Request(
        client_id="demo-permits",
        redirect_uri="http://127.0.0.1:8000/demo/apps/permits/callback",
        extra={"prompt": "none"},
    )
    back = oidc.query(location(demo.get(silent.url(), follow_redirects=False)))
    assert back["error"] == "login_required"  # the SSO session is gone too


def test_enterprise_staff_act_for_their_company(demo: TestClient) -> None:
    domain = oidc.domain_of(demo)
    from idp import repository

    with domain.keys.database.reading() as session:
        org = repository.organisation(session, ENTERPRISE_USCC)
    assert org is not None
    page = _sign_in(demo, "housing", "staff", organisation=org.id)
    assert "李四" in page
    assert "某某科技有限公司" in page
    assert ENTERPRISE_USCC in page


def test_the_demo_apps_follow_the_demo_to_another_port(
    make_settings: Callable[..., Any],
) -> None:
    """`./dev demo` once on :8000, then `./dev demo --port 8300`: the apps still sign in."""
    with TestClient(create_app(make_settings(mode="demo")), base_url="http://127.0.0.1:8000"):
        pass  # the first start registers the demo apps under :8000
    moved = "http://127.0.0.1:8300"
    app = create_app(make_settings(mode="demo", issuer=moved))
    _in_process(app)
    with TestClient(app, base_url=moved) as client:
        assert "张三" in _sign_in(client, "permits", "citizen")
        assert "未登录" in _go(client, "/demo/apps/permits/logout").text
        domain = oidc.domain_of(client)
    from idp import repository

    with domain.keys.database.reading() as session:
        registered = repository.client(session, "demo-permits")
        assert registered is not None
        assert registered.redirect_uris == [f"{moved}/demo/apps/permits/callback"]
        console = repository.client(session, "tongxing-console")
        assert console is not None and console.redirect_uris == [f"{moved}/admin/callback"]
        updates = session.execute(
            text(
                "SELECT subject, count(*) FROM audit_entries WHERE type = 'client.updated' "
                "GROUP BY subject"
            )
        ).all()
    # Once per demo app and for the console, on the start that moved; none before.
    assert dict(updates) == {"demo-permits": 1, "demo-housing": 1, "tongxing-console": 1}
