"""Headless Chromium through the demo: one sign-in serves the CAS demo app (档案查询, CAS 3.0)
and an OIDC demo app; signing out of either ends both — the CAS app through the single-logout
request the IdP posts to it, the OIDC app through back-channel logout. In zh-CN and en, with
no console errors."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import (
    OpenChromium,
    click_to_new_page,
    console_errors,
    signed_out_soon,
    text_of,
)
from tests.processes import Server
from tongxing.demo_data import CAS_APP_PATH, DEMO_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.one_demo]

TITLES = {"zh-CN": "登录", "en": "Sign in"}


def _password(browser: webdriver.Chrome, lang: str) -> None:
    text_of(browser, "login")
    assert TITLES[lang] in browser.title
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    click_to_new_page(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_one_sign_in_serves_a_cas_app_and_an_oidc_app_and_logout_ends_both(
    demo: Server, chromium: OpenChromium, lang: str
) -> None:
    browser = chromium(lang=lang)
    base = demo.base_url
    records, permits = f"{base}{CAS_APP_PATH}", f"{base}/demo/apps/permits/"

    # The CAS app first: our sign-in page, then back with a ticket it validates (CAS 3.0).
    browser.get(records)
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    _password(browser, lang)
    assert text_of(browser, "who") == "张三"
    assert text_of(browser, "user") == "citizen"
    assert text_of(browser, "acr") == "urn:tongxing:loa:2"
    assert text_of(browser, "new-login") == "true"

    # The OIDC app: no password (the same SSO session).
    browser.get(permits)
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    assert text_of(browser, "who") == "张三"
    assert not browser.find_elements(By.ID, "password")

    # Sign out of the OIDC app: the CAS app gets the single-logout request.
    click_to_new_page(browser, browser.find_element(By.ID, "sign-out"))
    signed_out_soon(browser, permits)
    signed_out_soon(browser, records)

    # The other way round: sign in to the OIDC app, arrive signed in at the CAS app (a
    # ticket from single sign-on), sign out of the CAS app: both end.
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))  # the CAS app's
    _password(browser, lang)
    assert text_of(browser, "who") == "张三"
    browser.get(permits)
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    assert text_of(browser, "who") == "张三"
    browser.get(records)
    assert text_of(browser, "who") == "张三"
    click_to_new_page(browser, browser.find_element(By.ID, "sign-out"))
    text_of(browser, "sign-in")  # /cas/logout sent the browser back to the registered app
    assert browser.current_url == records
    signed_out_soon(browser, permits)  # back-channel logout reached the OIDC app
    browser.get(records)
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    text_of(browser, "login")  # the SSO session is gone: the password is asked again
    assert not console_errors(browser)


def test_an_unregistered_service_gets_a_clear_page(demo: Server, chromium: OpenChromium) -> None:
    for lang, words in (("zh-CN", "未在统一身份认证登记"), ("en", "not registered")):
        browser = chromium(f"browser-{lang}", lang=lang)
        browser.get(f"{demo.base_url}/cas/login?service=https%3A%2F%2Fevil.example%2F")
        assert words in browser.find_element(By.TAG_NAME, "main").text
        assert browser.current_url.startswith(demo.base_url)
