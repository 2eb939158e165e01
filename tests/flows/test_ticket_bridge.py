"""The ticket bridge against its simulator: the demo's simulated provincial platform
(``/demo/province``, registered as the upstream ``province-sim``) signs a person in to a
demo app through our sign-in page (login redirect with a service URL, a ticket, the
server-side exchange for a token, user info), our logout continues at the platform's, and
法人账号切换 (the enterprise switch) makes the person act for the demo enterprise — once they
are a member of it here."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from audit.models import AuditEntry
from core.database import Database
from idp.models import UpstreamLink, User
from tests.browser import running_demo
from tests.flows.test_upstream_federation import Browser
from tests.in_process import tongxing
from tongxing.demo_data import ENTERPRISE_USCC

pytestmark = pytest.mark.slow


def _press(browser: Browser, base: str, page: httpx.Response, button: str) -> httpx.Response:
    """Submit the simulator's form whose button has id ``button``."""
    form = re.search(
        rf'<form method="post" action="([^"]+)">(.*?)<button type="submit" id="{button}">',
        page.text,
        re.S,
    )
    assert form, page.text[:1000]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    return browser.post(base + form.group(1), {k: html.unescape(v) for k, v in fields.items()})


def _link(page: httpx.Response, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', page.text)
    assert found, page.text[:2000]
    return html.unescape(found.group(1))


def test_sign_in_switch_to_the_enterprise_and_out(tmp_path: Path) -> None:
    with running_demo(tmp_path) as demo:
        base = demo.base_url
        browser = Browser(local=(base,))
        login = browser.get(f"{base}/demo/apps/permits/login")
        assert "使用省统一身份认证平台（模拟）登录" in login.text
        platform = browser.get(base + _link(login, "upstream-province-sim"))
        assert "/demo/province/login" in str(platform.url)
        app = _press(browser, base, platform, "province-wangwu")
        assert app.status_code == 200 and 'id="who">王五<' in app.text, app.text[:1000]
        assert re.search(r'id="amr">fed<', app.text)
        assert re.search(r'id="acr">urn:tongxing:loa:2<', app.text)  # a trusted identity number
        assert "个人 Personal" in app.text

        database = Database(f"sqlite:///{tmp_path / 'var' / 'tongxing.db'}")
        try:
            with database.reading() as session:
                link = session.scalars(select(UpstreamLink)).one()
                assert link.subject == "P-wangwu" and link.upstream_id == "province-sim"
                user = session.get(User, link.user_id)
                assert user is not None and user.proofing_level == 2
                username = user.username
        finally:
            database.dispose()

        # Our logout goes through the platform's and back to the app.
        out = browser.get(f"{base}/demo/apps/permits/logout")
        assert out.status_code == 200 and 'id="sign-in"' in out.text, out.text[:1000]

        # 法人账号切换 before 王五 is a member of the enterprise here: signed in, personally.
        login = browser.get(f"{base}/demo/apps/permits/login")
        chooser = browser.get(base + _link(login, "upstream-province-sim-switch"))
        picked = _press(browser, base, chooser, "province-wangwu")
        app = _press(browser, base, picked, f"corp-{ENTERPRISE_USCC}")
        assert 'id="who">王五<' in app.text and "个人 Personal" in app.text
        browser.get(f"{base}/demo/apps/permits/logout")

        added = tongxing(
            "orgs", "add-member", "--org", ENTERPRISE_USCC,
            "--user", username, "--role", "member",
            env={"TONGXING_MODE": "demo"}, cwd=tmp_path,
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        login = browser.get(f"{base}/demo/apps/permits/login")
        chooser = browser.get(base + _link(login, "upstream-province-sim-switch"))
        picked = _press(browser, base, chooser, "province-wangwu")
        app = _press(browser, base, picked, f"corp-{ENTERPRISE_USCC}")
        assert 'id="who">王五<' in app.text
        assert "代表 某某科技有限公司" in app.text, app.text[:1500]

        # Our callback with a ticket is good once: the state is taken by the first visit.
        browser.get(f"{base}/demo/apps/permits/logout")
        login = browser.get(f"{base}/demo/apps/permits/login")
        platform = browser.get(base + _link(login, "upstream-province-sim"))
        form = re.search(
            r'<form method="post" action="([^"]+)">(.*?)id="province-sunqi"', platform.text, re.S
        )
        assert form
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
        ticketed = browser.http.post(
            base + form.group(1), data={k: html.unescape(v) for k, v in fields.items()}
        )
        callback = ticketed.headers["location"]
        assert (
            "/login/upstream/province-sim/callback?state=" in callback and "ticket=ST-" in callback
        )
        assert 'id="who">孙七<' in browser.get(callback).text
        assert browser.get(callback).status_code == 400

        # A forged ticket (with a good state): the platform refuses it, so do we.
        browser.get(f"{base}/demo/apps/permits/logout")
        login = browser.get(f"{base}/demo/apps/permits/login")
        platform = browser.get(base + _link(login, "upstream-province-sim"))
        form = re.search(
            r'<form method="post" action="([^"]+)">(.*?)id="province-sunqi"', platform.text, re.S
        )
        assert form
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
        ticketed = browser.http.post(
            base + form.group(1), data={k: html.unescape(v) for k, v in fields.items()}
        )
        forged = re.sub(r"ticket=[^&]+", "ticket=ST-forged", ticketed.headers["location"])
        refused = browser.get(forged)
        assert refused.status_code == 400 and "tx_sso" not in browser.http.cookies
        database = Database(f"sqlite:///{tmp_path / 'var' / 'tongxing.db'}")
        try:
            with database.reading() as session:
                query = select(AuditEntry).where(AuditEntry.type == "login.upstream_failed")
                details = [json.loads(e.leaf)["details"] for e in session.scalars(query).all()]
        finally:
            database.dispose()
        assert details[-1] == {"reason": "upstream", "detail": "refused (code 1001)"}

        # A ticket is single use, and only for the service it was issued for.
        answer = httpx.post(
            f"{base}/demo/province/api/ticket/validate",
            data={"appId": "tongxing-demo", "appSecret": "wrong", "ticket": "ST-x", "service": "x"},
        )
        assert answer.json()["code"] == 401
