"""A real browser (Debian's headless Chromium through chromedriver) clicks through the demo:
sign in on one department app, arrive signed in at the other, sign out of both at once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import backends
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
    assert _text(browser, "who") == "张三"  # single sign-on: no password asked

    browser.find_element(By.ID, "sign-out").click()
    _text(browser, "sign-in")
    browser.get(f"{base}/demo/apps/permits/")
    _text(browser, "sign-in")  # back-channel logout signed this app out too

    # A wrong password gets a clear, accessible message on the same page.
    browser.find_element(By.ID, "sign-in").click()
    browser.find_element(By.ID, "login").send_keys("citizen")
    browser.find_element(By.ID, "password").send_keys("not the password")
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "用户名或密码不正确" in _text(browser, "login-error")
