"""A real browser (Debian's headless Chromium through chromedriver) clicks through the demo:
sign in on one department app, arrive signed in at the other, sign out of both at once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import backends, demo_codes
from tests.processes import Server, running_server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.slow


def _binaries() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        if backends.IN_CI:
            raise RuntimeError("chromium and chromium-driver (Debian) are required in CI")
        pytest.skip("chromium / chromedriver not installed (Debian chromium chromium-driver)")
    return chromium, driver


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium, driver = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--lang=zh-CN",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "zh-CN,zh"})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=driver, log_output=str(tmp_path / "chromedriver.log"))
    instance = webdriver.Chrome(options=options, service=service)  # stops by its own PIDs
    try:
        yield instance
    finally:
        instance.quit()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Server]:
    with running_server("demo", env={}, cwd=tmp_path) as server:
        yield server


def _text(browser: webdriver.Chrome, element_id: str) -> str:
    element = WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.ID, element_id))
    )
    return str(element.text)


def test_a_person_signs_in_once_and_out_everywhere(browser: webdriver.Chrome, demo: Server) -> None:
    base = demo.base_url
    browser.get(f"{base}/demo/apps/permits/")
    browser.find_element(By.ID, "sign-in").click()
    _text(browser, "login")
    assert "登录" in browser.title  # the person's language (zh-CN) was honoured
    assert browser.find_element(By.CSS_SELECTOR, "label[for=login]").text
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert _text(browser, "who") == "张三"

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
    assert _text(browser, "who") == "张三"
    assert _text(browser, "acr") == "urn:tongxing:loa:3"

    # The account page lists both apps just signed into, the time in Beijing time.
    browser.get(f"{base}/account")
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "已连接的应用" in page and "施工许可" in page and "住房保障" in page
    assert "北京时间" in page
    browser.get(f"{base}/demo/apps/housing/")
    assert _text(browser, "who") == "张三"

    browser.find_element(By.ID, "sign-out").click()
    _text(browser, "sign-in")
    browser.get(f"{base}/demo/apps/permits/")
    _text(browser, "sign-in")  # back-channel logout signed this app out too
    assert not _console_errors(browser)

    # A wrong password gets a clear, accessible message on the same page.
    browser.find_element(By.ID, "sign-in").click()
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "用户名或密码不正确" in _text(browser, "login-error")


def _console_errors(browser: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize(
    ("lang", "verify_link", "verify_title"),
    [("zh-CN", "验证盖章文件", "验证"), ("en", "Verify a sealed document", "Verif")],
)
def test_the_home_page_is_styled_and_links_every_public_entry(
    browser: webdriver.Chrome,
    demo: Server,
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
        answer = httpx.get(href)
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
    assert not _console_errors(browser)
