"""A real browser (headless Chromium) adds an authenticator app on the account page of the
demo: the demo's 张三 already holds one, so the page first sends them to /account/verify for
a fresh two-factor check (the seeded app's code); then the QR code renders under the page
CSP, the code typed is accepted, the recovery codes are shown once if these are the first,
the new method is listed — in zh-CN and in English, without console errors."""

from __future__ import annotations

import base64
import time

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from idp import totp
from tests import demo_codes
from tests.browser import click_to_new_page, console_errors, text_of
from tests.processes import Server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("lang", "title", "added"),
    [
        ("zh-CN", "登录方式", "剩余 10 个未使用的恢复码"),
        ("en", "Sign-in methods", "10 unused recovery codes left"),
    ],
)
def test_add_an_authenticator_app_on_the_account_page(
    demo: Server, browser: webdriver.Chrome, lang: str, title: str, added: str
) -> None:
    base = demo.base_url
    browser.get(f"{base}/demo/apps/permits/")
    browser.find_element(By.ID, "sign-in").click()
    text_of(browser, "login")
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    text_of(browser, "who")

    browser.get(f"{base}/account?lang={lang}")
    assert title in browser.find_element(By.ID, "factors").text
    before = len(browser.find_elements(By.CSS_SELECTOR, ".factor-row"))
    browser.find_element(By.CSS_SELECTOR, "#factors-start button").click()
    # a second factor is already there: changing the methods needs a fresh check of two
    # kinds of factor first (the password of the sign-in and, now, the seeded app's code)
    seeded = demo_codes.code("citizen", demo=base)
    WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "factor-totp"))
    ).send_keys(seeded)
    browser.find_element(By.CSS_SELECTOR, "#method-totp button[type=submit]").click()
    text_of(browser, "factors-start")
    assert "/account" in browser.current_url and "verify" not in browser.current_url
    browser.find_element(By.CSS_SELECTOR, "#factors-start button").click()
    secret_text = text_of(browser, "factors-secret").replace(" ", "")
    qr = browser.find_element(By.ID, "factors-qr")
    assert browser.execute_script("return arguments[0].naturalWidth", qr) > 0  # CSP allowed it
    secret = base64.b32decode(secret_text + "=" * (-len(secret_text) % 8))
    browser.find_element(By.ID, "factors-enrol-name").clear()
    browser.find_element(By.ID, "factors-enrol-name").send_keys("Pixel")
    code = totp.code_at(secret, totp.step_of(time.time()))
    browser.find_element(By.ID, "factors-enrol-code").send_keys(code)
    # wait for the answer's page: read at once, the account page being left would be read
    click_to_new_page(
        browser, browser.find_element(By.CSS_SELECTOR, "#factors-confirm button[type=submit]")
    )
    codes = browser.find_elements(By.CSS_SELECTOR, "#recovery-codes code")
    if codes:  # the first second factor: ten recovery codes, once
        assert len(codes) == 10
        click_to_new_page(browser, browser.find_element(By.ID, "recovery-done"))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert len(browser.find_elements(By.CSS_SELECTOR, ".factor-row")) == before + 1
    assert "Pixel" in page and added in page
    assert secret_text not in browser.page_source
    assert not console_errors(browser)
