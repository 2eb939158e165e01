"""A real browser (headless Chromium) adds an authenticator app on the account page of the
demo: the demo's 张三 already holds one, so the page first sends them to /account/verify for
a fresh two-factor check (the seeded app's code); then the QR code renders under the page
CSP, the code typed is accepted, the recovery codes are shown once if these are the first,
the new method is listed — in zh-CN and in English, without console errors."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from idp import totp
from tests.flows.test_browser import _binaries
from tests.processes import Server, running_server
from tongxing.demo_data import DEMO_PASSWORD, totp_secret

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    binary, driver = _binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
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


def _wait(browser: webdriver.Chrome, element_id: str) -> str:
    element = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, element_id))
    )
    return str(element.text)


@pytest.mark.parametrize(
    ("lang", "title", "added"),
    [
        ("zh-CN", "登录方式", "剩余 10 个未使用的恢复码"),
        ("en", "Sign-in methods", "10 unused recovery codes left"),
    ],
)
def test_add_an_authenticator_app_on_the_account_page(
    chromium: webdriver.Chrome, demo: Server, lang: str, title: str, added: str
) -> None:
    base = demo.base_url
    chromium.get(f"{base}/demo/apps/permits/")
    chromium.find_element(By.ID, "sign-in").click()
    _wait(chromium, "login")
    chromium.find_element(By.ID, "login").send_keys("citizen")
    chromium.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    chromium.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    _wait(chromium, "who")

    chromium.get(f"{base}/account?lang={lang}")
    assert title in chromium.find_element(By.ID, "factors").text
    before = len(chromium.find_elements(By.CSS_SELECTOR, ".factor-row"))
    chromium.find_element(By.CSS_SELECTOR, "#factors-start button").click()
    # a second factor is already there: changing the methods needs a fresh check of two
    # kinds of factor first (the password of the sign-in and, now, the seeded app's code)
    seeded = totp.code_at(totp_secret("citizen"), totp.step_of(time.time()))
    WebDriverWait(chromium, 20).until(
        expected_conditions.presence_of_element_located((By.ID, "factor-totp"))
    ).send_keys(seeded)
    chromium.find_element(By.CSS_SELECTOR, "#method-totp button[type=submit]").click()
    _wait(chromium, "factors-start")
    assert "/account" in chromium.current_url and "verify" not in chromium.current_url
    chromium.find_element(By.CSS_SELECTOR, "#factors-start button").click()
    secret_text = _wait(chromium, "factors-secret").replace(" ", "")
    qr = chromium.find_element(By.ID, "factors-qr")
    assert chromium.execute_script("return arguments[0].naturalWidth", qr) > 0  # CSP allowed it
    secret = base64.b32decode(secret_text + "=" * (-len(secret_text) % 8))
    chromium.find_element(By.ID, "factors-enrol-name").clear()
    chromium.find_element(By.ID, "factors-enrol-name").send_keys("Pixel")
    code = totp.code_at(secret, totp.step_of(time.time()))
    chromium.find_element(By.ID, "factors-enrol-code").send_keys(code)
    chromium.find_element(By.CSS_SELECTOR, "#factors-confirm button[type=submit]").click()
    codes = chromium.find_elements(By.CSS_SELECTOR, "#recovery-codes code")
    if codes:  # the first second factor: ten recovery codes, once
        assert len(codes) == 10
        chromium.find_element(By.ID, "recovery-done").click()
    page = chromium.find_element(By.TAG_NAME, "main").text
    assert len(chromium.find_elements(By.CSS_SELECTOR, ".factor-row")) == before + 1
    assert "Pixel" in page and added in page
    assert secret_text not in chromium.page_source
    errors = [e["message"] for e in chromium.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors
