"""A real browser (Debian's headless Chromium through chromedriver) clicks through the demo:
sign in on one department app, arrive signed in at the other, sign out of both at once."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import demo_codes
from tests.browser import click_to_new_page, console_errors, signed_out_soon, text_of
from tests.processes import Server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.one_demo]


def test_a_person_signs_in_once_and_out_everywhere(demo: Server, browser: webdriver.Chrome) -> None:
    base = demo.base_url
    browser.get(f"{base}/demo/apps/permits/")
    browser.find_element(By.ID, "sign-in").click()
    text_of(browser, "login")
    assert "登录" in browser.title  # the person's language (zh-CN) was honoured
    assert browser.find_element(By.CSS_SELECTOR, "label[for=login]").text
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(browser, "who") == "张三"

    browser.get(f"{base}/demo/apps/housing/")
    browser.find_element(By.ID, "sign-in").click()
    # Single sign-on, but the housing app asks for level 3: no password, a second factor.
    form = WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, "form[action='/login/factor/totp']")
        )
    )
    assert not browser.find_elements(By.ID, "password")
    form.find_element(By.NAME, "code").send_keys(demo_codes.code("citizen", demo=base))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(browser, "who") == "张三"
    assert text_of(browser, "acr") == "urn:tongxing:loa:3"

    # The account page lists both apps just signed into, the time in Beijing time.
    browser.get(f"{base}/account")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "已连接的应用" in page and "施工许可" in page and "住房保障" in page
    assert "北京时间" in page
    browser.get(f"{base}/demo/apps/housing/")
    assert text_of(browser, "who") == "张三"

    browser.find_element(By.ID, "sign-out").click()
    text_of(browser, "sign-in")
    signed_out_soon(browser, f"{base}/demo/apps/permits/")  # back-channel logout, this app too
    assert not console_errors(browser)

    # A wrong password gets a clear, accessible message on the same page.
    click_to_new_page(browser, browser.find_element(By.ID, "sign-in"))
    text_of(browser, "login")
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "用户名或密码不正确" in text_of(browser, "login-error")


@pytest.mark.parametrize(
    ("lang", "verify_link", "verify_title"),
    [("zh-CN", "验证盖章文件", "验证"), ("en", "Verify a sealed document", "Verif")],
)
def test_the_home_page_is_styled_and_links_every_public_entry(
    demo: Server,
    browser: webdriver.Chrome,
    tmp_path: Path,
    lang: str,
    verify_link: str,
    verify_title: str,
) -> None:
    base = demo.base_url
    browser.get(f"{base}/?lang={lang}")
    header = browser.find_element(By.TAG_NAME, "header")
    assert header.value_of_css_property("background-color") == "rgba(183, 28, 28, 1)"
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "main a")]
    for path in (
        "/verify",
        "/account",
        "/demo/apps/permits/",
        "/.well-known/openid-configuration",
        "/jwks",
        "/openapi.json",
        "/audit/v1/checkpoint",
        "/pki/ca/root.pem",
        "/readyz",
    ):
        assert f"{base}{path}" in links, path
    for href in links:  # every entry point answers (the account page asks who you are)
        answer = httpx.get(href, timeout=30)  # /openapi.json is built on its first request
        expected = 401 if href.endswith("/account") else 200
        assert answer.status_code == expected, (href, answer.status_code)
    browser.find_element(By.PARTIAL_LINK_TEXT, verify_link).click()
    WebDriverWait(browser, 15).until(lambda b: "/verify" in b.current_url)
    assert verify_title in browser.title
    # A citizen uploads the (unsealed) sample certificate: told so in words, in the language.
    sample = tmp_path / "sample.pdf"
    sample.write_bytes(httpx.get(f"{base}/demo/certificate.pdf").content)
    browser.find_element(By.ID, "file").send_keys(str(sample))
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    expected = "没有电子印章" if lang == "zh-CN" else "carries no electronic seal"
    # The page is replaced by the answer: an element read mid-navigation may be stale.
    WebDriverWait(browser, 15, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda b: expected in b.find_element(By.TAG_NAME, "main").text
    )
    assert not console_errors(browser)
