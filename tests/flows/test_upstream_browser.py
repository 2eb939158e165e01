"""A real browser (headless Chromium) signs in to a demo app through the upstream provider
(Node's oidc-provider as the provincial platform): the button on our sign-in page, the
upstream's form, back at the app with ``amr`` ``fed``; then signs out at the app, which takes
it through the upstream's logout and back. In zh-CN and en, with no console errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser import click_to_new_page, console_errors, running_demo, text_of
from tests.in_process import tongxing
from tests.processes import Server, free_port
from tests.upstream_peer import Peer, running_peer

pytestmark = pytest.mark.slow
SECRET = "province-client-secret-for-the-browser"


@pytest.fixture
def demo_and_peer(tmp_path: Path) -> Iterator[tuple[Server, Peer]]:
    """The demo, and the peer registered in it as the upstream ``province``."""
    with (
        running_demo(tmp_path) as demo,
        running_peer(
            port=free_port(),
            rp_base=demo.base_url,
            upstream_id="province",
            client_secret=SECRET,
            log=tmp_path / "peer.log",
        ) as peer,
    ):
        created = tongxing(
            "upstreams", "create",
            "--id", "province",
            "--name-zh", "省统一身份认证平台",
            "--name-en", "the Provincial Identity Platform",
            "--discovery-url", f"{peer.issuer}/.well-known/openid-configuration",
            "--client-id", "tongxing",
            "--scope", "openid profile idcard",
            "--claim", "national_id=id_number",
            "--claim", "name=name",
            "--acr", "urn:province:loa:2=2",
            "--amr", "pwd=pwd",
            "--trust-national-id", "2",
            env={"TONGXING_MODE": "demo"},
            cwd=tmp_path,
            stdin=SECRET + "\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        yield demo, peer


@pytest.mark.parametrize(
    ("lang", "button", "login"),
    [
        ("zh-CN", "使用省统一身份认证平台登录", "wang"),
        ("en", "Sign in with the Provincial", "qian"),
    ],
)
def test_sign_in_through_the_province_and_out_again(
    demo_and_peer: tuple[Server, Peer], chromium: object, lang: str, button: str, login: str
) -> None:
    demo, peer = demo_and_peer
    browser: webdriver.Chrome = chromium(lang=lang)  # type: ignore[operator]
    base = demo.base_url
    browser.get(f"{base}/?lang={lang}")
    browser.get(f"{base}/demo/apps/permits/")
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    text_of(browser, "upstream-province")
    link = browser.find_element(By.ID, "upstream-province")
    assert link.text.startswith(button)
    link.click()
    WebDriverWait(browser, 20).until(lambda b: b.current_url.startswith(peer.issuer))
    browser.find_element(By.ID, "login").send_keys(login)
    browser.find_element(By.ID, "password").send_keys("province-pass")
    browser.find_element(By.ID, "submit").click()
    assert text_of(browser, "amr").split()[0] == "fed"
    assert text_of(browser, "who") in ("王五", "钱八")
    assert not console_errors(browser)

    browser.find_element(By.ID, "sign-out").click()
    # Our logout goes on to the province's end-session page (its confirmation form).
    WebDriverWait(browser, 20).until(lambda b: b.current_url.startswith(peer.issuer))
    browser.find_element(By.CSS_SELECTOR, "button[name=logout]").click()
    text_of(browser, "sign-in")  # back at the app, signed out
    assert browser.current_url.startswith(base)
    assert not console_errors(browser)
