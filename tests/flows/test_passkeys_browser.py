"""Passkeys in a real browser: headless Chromium with a virtual authenticator (Chrome
DevTools Protocol ``WebAuthn.addVirtualAuthenticator``: CTAP2, resident keys, user
verification) adds a passkey on the account page (after confirming it is the person with the
demo's seeded TOTP code), signs out, signs in without a password, then — signed in with the
password again — steps up with the passkey; in zh-CN and en, with no console errors. The
demo is served at ``http://localhost:PORT``: browsers refuse WebAuthn on an IP-address
origin."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import demo_codes
from tests.browser import OpenChromium, add_passkey_authenticator, console_errors, text_of
from tests.processes import Server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.slow

WORDS = {
    "zh-CN": {"sign_in": "使用通行密钥登录", "add": "添加通行密钥", "use": "使用通行密钥"},
    "en": {"sign_in": "Sign in with a passkey", "add": "Add a passkey", "use": "Use my passkey"},
}


@pytest.fixture(params=list(WORDS))
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def browser(chromium: OpenChromium, lang: str) -> webdriver.Chrome:
    """Chromium in ``lang`` with a virtual platform authenticator."""
    instance = chromium("browser", lang)
    add_passkey_authenticator(instance)
    return instance


def _wait(browser: webdriver.Chrome, element_id: str) -> str:
    return text_of(browser, element_id, visible=True)


def _click(browser: webdriver.Chrome, element_id: str) -> None:
    WebDriverWait(browser, 20).until(
        expected_conditions.element_to_be_clickable((By.ID, element_id))
    ).click()


def _sign_in_with_password(browser: webdriver.Chrome, base: str) -> None:
    browser.get(f"{base}/demo/apps/permits/")
    _click(browser, "sign-in")
    _wait(browser, "login")
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    assert _wait(browser, "who") == "张三"


def _sign_out(browser: webdriver.Chrome, base: str) -> None:
    browser.get(f"{base}/demo/apps/permits/")
    _click(browser, "sign-out")
    _wait(browser, "sign-in")


def test_add_a_passkey_sign_in_without_a_password_and_step_up(
    demo: Server, browser: webdriver.Chrome, lang: str
) -> None:
    base, words = demo.base_url, WORDS[lang]
    _sign_in_with_password(browser, base)

    # Add a passkey. 张三 already holds a second factor (the demo's seeded TOTP), so a
    # password sign-in alone is not strong enough: the account check comes first, passed
    # with the TOTP code, and leads back to the account page.
    browser.get(f"{base}/account")
    assert _wait(browser, "passkey-add") == words["add"]
    _wait(browser, "passkey-verify-first")
    _click(browser, "passkey-add")
    _wait(browser, "factor-totp")
    assert "/account/verify" in browser.current_url or "/login/factor" in browser.current_url
    code = demo_codes.code("citizen", demo=base)
    browser.find_element(By.ID, "factor-totp").send_keys(code)
    browser.find_element(By.CSS_SELECTOR, "#method-totp button[type=submit]").click()
    WebDriverWait(browser, 20).until(expected_conditions.url_to_be(f"{base}/account"))
    _wait(browser, "passkey-add")
    assert not browser.find_elements(By.ID, "passkey-verify-first")
    browser.find_element(By.ID, "passkey-name").send_keys("Chromium")
    _click(browser, "passkey-add")
    _wait(browser, "passkey-added")
    assert browser.current_url.endswith("/account?passkey=added")

    # Sign out, then in again with the passkey alone (the virtual authenticator verifies
    # the person, like a fingerprint).
    _sign_out(browser, base)
    _click(browser, "sign-in")
    assert _wait(browser, "passkey-sign-in") == words["sign_in"]
    _click(browser, "passkey-sign-in")
    assert _wait(browser, "who") == "张三"

    # Signed in with the password only, adding another passkey first asks for the passkey
    # on the step-up page (not the password again), then comes back to the account page.
    _sign_out(browser, base)
    _sign_in_with_password(browser, base)
    browser.get(f"{base}/account")
    _wait(browser, "passkey-verify-first")
    _click(browser, "passkey-add")
    assert _wait(browser, "passkey-step-up") == words["use"]
    assert "/login/factor" in browser.current_url
    _click(browser, "passkey-step-up")
    WebDriverWait(browser, 20).until(expected_conditions.url_to_be(f"{base}/account"))
    _wait(browser, "passkey-add")
    assert not browser.find_elements(By.ID, "passkey-verify-first")
    assert not console_errors(browser)
