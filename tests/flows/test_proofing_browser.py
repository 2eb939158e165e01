"""A real browser (headless Chromium) raises a demo person's identity level on the account
page: the real-name check (L1 → L2) and the development face check (L2 → L3), in zh-CN,
then the part in English; no console errors (CSP: no inline script)."""

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
from tests.in_process import tongxing
from tests.processes import Server, running_server

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
NUMBER = "350102200001012463"  # 周九 in the demo registry (idp.proofing.DEMO_REGISTRY)


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
    # running_server addresses the demo by its issuer, http://localhost:P: the demo apps'
    # cookies are set on that host, so a browser on 127.0.0.1 would lose them at the callback.
    with running_server("demo", env={}, cwd=tmp_path, ready_timeout=240) as server:
        made = tongxing(
            "users", "create", "--username", "zhoujiu", "--name", "周九", "--password-stdin",
            env={"TONGXING_MODE": "demo"}, cwd=tmp_path, stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield server


def _wait(browser: webdriver.Chrome, element_id: str) -> str:
    element = WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.ID, element_id))
    )
    return str(element.text)


def _console_errors(browser: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def test_a_person_verifies_their_identity_in_a_browser(
    browser: webdriver.Chrome, demo: Server
) -> None:
    base = demo.base_url
    browser.get(f"{base}/demo/apps/permits/")
    browser.find_element(By.ID, "sign-in").click()
    _wait(browser, "login")
    browser.find_element(By.ID, "login").send_keys("zhoujiu")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert _wait(browser, "who") == "周九"

    browser.get(f"{base}/account")
    section = _wait(browser, "proofing")
    assert "实名核验" in section and "L1 自报身份" in section
    assert browser.find_element(By.CSS_SELECTOR, "label[for=proofing-number]").text == "身份证号"
    browser.find_element(By.ID, "proofing-name").send_keys("周九")
    browser.find_element(By.ID, "proofing-number").send_keys(NUMBER)
    browser.find_element(By.CSS_SELECTOR, "#proofing button[type=submit]").click()
    assert "核验通过" in _wait(browser, "proofing-result")
    section = browser.find_element(By.ID, "proofing").text
    assert "L2 姓名与身份证号已经权威核验" in section and "350***********2463" in section

    browser.find_element(By.ID, "proofing-face-start").click()
    _wait(browser, "proofing-face-confirm")
    assert "人脸识别 SDK" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.ID, "proofing-face-confirm").click()
    assert "核验通过" in _wait(browser, "proofing-result")
    assert "L3 已通过人脸核验" in browser.find_element(By.ID, "proofing").text

    browser.get(f"{base}/account?lang=en")
    section = _wait(browser, "proofing")
    assert "Identity verification" in section and "L3 confirmed by a face check" in section
    assert "bring your identity card to a service counter" in section
    assert not _console_errors(browser)
