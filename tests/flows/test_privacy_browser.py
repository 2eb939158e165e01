"""The account page's personal-information parts in a real browser (headless Chromium on the
demo, zh-CN then en): the sign-in history in words, withdrawing consent signs the app out,
deleting the account (after a second factor: the demo's 张三 holds an authenticator app) ends
the session; no console errors."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from tests import demo_codes
from tests.browser import click_to_new_page, console_errors, signed_out_soon, text_of
from tests.processes import Server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.slow


def _main(chrome: webdriver.Chrome) -> str:
    return str(chrome.find_element(By.TAG_NAME, "main").text)


def test_history_consent_withdrawal_and_deletion(
    demo: Server,
    browser: webdriver.Chrome,
) -> None:
    base = demo.base_url
    browser.get(f"{base}/demo/apps/permits/")
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    text_of(browser, "login")
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(browser, "who") == "张三"

    browser.get(f"{base}/account")
    text_of(browser, "sign-in-history")
    page = _main(browser)
    assert "最近的登录记录" in page and "登录 · 密码 · " in page
    assert "Headless Chrome" in page and "Linux" in page and "北京时间" in page
    assert "个人信息" in page and "下载我的个人信息" in page and "注销账号" in page
    assert "施工许可" in page

    # Withdraw consent to the permits app: it disappears and is signed out (back channel).
    withdraw = browser.find_element(
        By.XPATH, "//input[@name='client_id'][@value='demo-permits']/following-sibling::button"
    )
    click_to_new_page(browser, withdraw)
    text_of(browser, "sign-in-history")
    assert "施工许可" not in _main(browser)
    signed_out_soon(browser, f"{base}/demo/apps/permits/")

    browser.get(f"{base}/account?lang=en")
    page = _main(browser)
    assert "Recent sign-ins" in page and "Sign-in · password · level" in page
    assert "Download my data" in page
    browser.find_element(By.ID, "privacy-delete").click()
    # 张三 holds an authenticator app and signed in with a password only: deleting the account
    # needs a recent strong sign-in, so /account/verify sends the browser to the factor page.
    form = WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, "form[action='/login/factor/totp']")
        )
    )
    assert "/login/factor" in browser.current_url
    assert not browser.find_elements(By.ID, "privacy-delete-submit")
    form.find_element(By.NAME, "code").send_keys(demo_codes.code("citizen", demo=base))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "Delete my account" in text_of(browser, "privacy-delete-submit")
    browser.find_element(By.ID, "privacy-confirm").click()
    browser.find_element(By.ID, "privacy-delete-submit").click()
    assert "personal information is deleted after" in text_of(browser, "privacy-deleted")
    assert not console_errors(browser)
    browser.get(f"{base}/account")  # signed out: 401, the page asks to sign in
    assert "sign-in-history" not in browser.page_source
    assert all("401" in error for error in console_errors(browser))
