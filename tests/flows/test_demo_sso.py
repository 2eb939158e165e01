"""The demo's promise: sign in on one demo app, the other knows you; sign out of one and
both are signed out (RP-initiated + back-channel logout), as the README tour shows. The
housing app asks for level 3: a password session is asked for the second factor only."""

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
from tests import demo_codes, oidc
from tests.oidc import location
from tongxing import create_app
from tongxing.demo_apps import DemoLink
from tongxing.demo_data import DEMO_PASSWORD, ENTERPRISE_USCC

pytestmark = pytest.mark.slow

BASE = "http://localhost:8000"


def _in_process(app: FastAPI) -> None:
    """The demo apps and logout tokens reach the IdP through the app itself (no server)."""
    runtime = runtime_of(app)
    runtime.get(DemoLink).transport = httpx.ASGITransport(app=app)
    runtime.get(IdentityProvider).backchannel_transport = httpx.ASGITransport(app=app)


@pytest.fixture
def demo(make_settings: Callable[..., Any]) -> Iterator[TestClient]:
    app = create_app(make_settings(mode="demo", issuer=BASE))
    _in_process(app)
    with TestClient(app, base_url=BASE) as client:
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
    page = _go(browser, location(response))
    for _ in range(3):  # the factor page and the organisation choice, as they are asked
        if 'action="/login/factor/totp"' in page.text:
            page = _answer_factor(browser, page, login)
        elif organisation is not None and 'action="/login/organisation"' in page.text:
            response = browser.post(
                "/login/organisation",
                data={
                    "interaction": oidc.hidden(page.text, "interaction"),
                    "csrf_token": oidc.hidden(page.text, "csrf_token"),
                    "organisation": organisation,
                },
                follow_redirects=False,
            )
            page = _go(browser, location(response))
        else:
            break
    return page.text


def _answer_factor(browser: TestClient, page: httpx.Response, login: str) -> httpx.Response:
    """Answer the factor page with the person's seeded TOTP code; the page that follows."""
    assert 'name="password"' not in page.text  # only what is missing is asked
    response = browser.post(
        "/login/factor/totp",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": demo_codes.code(login, demo=str(browser.base_url) + str(id(browser.app))),
        },
        follow_redirects=False,
    )
    return _go(browser, location(response))


def _step_up(browser: TestClient, page: httpx.Response, login: str) -> str:
    """Answer the factor page, when there is one, with the person's seeded TOTP code."""
    if 'action="/login/factor/totp"' not in page.text:
        return page.text
    return _answer_factor(browser, page, login).text


def test_single_sign_on_and_single_logout_across_the_demo_apps(demo: TestClient) -> None:
    assert "未登录" in _go(demo, "/demo/apps/permits/").text
    page = _sign_in(demo, "permits", "citizen")
    assert "张三" in page
    assert "个人" in page
    assert "urn:tongxing:loa:2" in page  # a password: one factor
    # The housing app asks for level 3: no password again, the factor page instead.
    factor = _go(demo, "/demo/apps/housing/login")
    assert 'action="/login/factor/totp"' in factor.text
    housing = _step_up(demo, factor, "citizen")
    assert "张三" in housing
    assert '<code id="acr">urn:tongxing:loa:3</code>' in housing
    assert '<code id="amr">pwd otp mfa</code>' in housing
    again = _go(demo, "/demo/apps/housing/login")  # the stronger session serves it directly
    assert "张三" in again.text
    signed_out = _go(demo, "/demo/apps/housing/logout")
    assert "未登录" in signed_out.text
    assert "未登录" in _go(demo, "/demo/apps/permits/").text  # back-channel logout reached it
    silent = oidc.Request(
        client_id="demo-permits",
        redirect_uri=f"{BASE}/demo/apps/permits/callback",
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


def test_the_demo_agent_acts_for_the_company_as_its_agent(demo: TestClient) -> None:
    """吴十 is no employee: the company's accepted authorisation (经办人) is the choice."""
    from idp import repository
    from idp.agents import CHOICE_PREFIX

    domain = oidc.domain_of(demo)
    with domain.keys.database.reading() as session:
        person = repository.user_by_login(session, "agent")
        assert person is not None
        [(authorisation, organisation)] = repository.agent_authorisations_of(
            session, person.id, statuses=("accepted",)
        )
    assert organisation.uscc == ENTERPRISE_USCC and authorisation.scope == "all"
    page = _sign_in(demo, "housing", "agent", organisation=CHOICE_PREFIX + authorisation.id)
    assert "吴十" in page
    assert "某某科技有限公司" in page and "agent" in page


def test_an_unverified_name_cannot_reach_the_housing_app(demo: TestClient) -> None:
    """周九's name is self-declared (level 1): no sign-in makes it level 3, and the app
    says why instead of asking for factors."""
    page = _sign_in(demo, "housing", "newcomer")
    assert "unmet_authentication_requirements" in page
    assert "未登录" in _go(demo, "/demo/apps/housing/").text
    # The sign-in itself stands: the permits app, which asks for no level, lets 周九 in.
    assert "周九" in _go(demo, "/demo/apps/permits/login").text


def test_the_demo_seeds_levels_and_second_factors(demo: TestClient) -> None:
    from sqlalchemy import select

    from idp import repository, totp
    from idp.models import Authenticator
    from tongxing import demo_data

    domain = oidc.domain_of(demo)
    with domain.keys.database.reading() as session:
        for person in demo_data.PEOPLE:
            user = repository.user_by_login(session, person.username)
            assert user is not None and user.proofing_level == person.proofing_level
            kinds = list(
                session.scalars(select(Authenticator.kind).where(Authenticator.user_id == user.id))
            )
            assert kinds == (["totp"] if person.totp else [])
        enrolled = session.execute(
            text("SELECT count(*) FROM audit_entries WHERE type = 'factor.enrolled'")
        ).scalar()
    assert enrolled == sum(p.totp for p in demo_data.PEOPLE)
    # The seeded secret is the one the codes come from (and a used code is spent).
    code = demo_codes.code("auditor", demo=str(id(demo.app)))
    with domain.keys.database.transaction() as session:
        auditor = repository.user_by_login(session, "auditor")
        assert auditor is not None
        used = totp.verify(session, data_keys=domain.data_keys, user_id=auditor.id, code=code)
        assert used is not None and used.name == demo_data.DEMO_TOTP_NAME
        again = totp.verify(session, data_keys=domain.data_keys, user_id=auditor.id, code=code)
        assert again is None


def test_an_older_demo_gets_the_levels_and_factors_on_its_next_start(
    make_settings: Callable[..., Any],
) -> None:
    """People seeded before levels and factors existed are brought up to date, once."""
    settings = make_settings(mode="demo", issuer=BASE)
    with TestClient(create_app(settings), base_url=BASE) as client:
        domain = oidc.domain_of(client)
        with domain.keys.database.transaction() as session:
            session.execute(text("DELETE FROM authenticators"))
            session.execute(text("UPDATE users SET proofing_level = 2"))
    with TestClient(create_app(settings), base_url=BASE) as client:
        domain = oidc.domain_of(client)
        with domain.keys.database.reading() as session:
            levels = dict(session.execute(text("SELECT username, proofing_level FROM users")).all())
            factors = session.execute(text("SELECT count(*) FROM authenticators")).scalar()
            raised = session.execute(
                text("SELECT count(*) FROM audit_entries WHERE type = 'user.updated'")
            ).scalar()
    from tongxing import demo_data

    assert levels["sysadmin"] == 4 and levels["citizen"] == 3
    assert levels["newcomer"] == 2  # never lowered
    assert factors == sum(p.totp for p in demo_data.PEOPLE)
    assert raised == sum(p.proofing_level > 2 for p in demo_data.PEOPLE)
    with TestClient(create_app(settings), base_url=BASE) as client:  # nothing more to do
        domain = oidc.domain_of(client)
        with domain.keys.database.reading() as session:
            assert session.execute(text("SELECT count(*) FROM authenticators")).scalar() == factors


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
