"""A real browser (headless Chromium) registers with a phone number on the way to a demo app,
reading the code from the demo outbox (/demo/sms), signs out, and signs in again with an SMS
code; in zh-CN and en, with no console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import backends
from tests.processes import Server, clean_env, free_port, wait_ready

pytestmark = pytest.mark.slow
PASSWORD = "my own passphrase 2026"


@pytest.fixture
def chrome(tmp_path: Path) -> Iterator[webdriver.Chrome]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        if backends.IN_CI:
            raise RuntimeError("chromium and chromium-driver (Debian) are required in CI")
        pytest.skip("chromium / chromedriver not installed (Debian chromium chromium-driver)")
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
    # The demo seeds its people, apps and seals before it is ready: on a loaded shared
    # machine that has taken over a minute, so this waits longer than running_server.
    port = free_port()
    log = tmp_path / "demo.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tongxing", "demo", "--host", "127.0.0.1", "--port", str(port)],
            # One code per number a minute would hold up the sign-in right after registering.
            env=clean_env({"TONGXING_SMS_SEND_INTERVAL_SECONDS": "1"}),
            cwd=tmp_path,
            stdout=output,
            stderr=subprocess.STDOUT,
            text=True,
        )
    # The demo's issuer is http://localhost:PORT (passkeys need a host name): the browser
    # must use that name too, or the language and sign-in cookies stay on 127.0.0.1.
    server = Server(process=process, base_url=f"http://localhost:{port}", log=log)
    try:
        wait_ready(server, timeout=240)
        yield server
    finally:
        server.stop()


def _wait(browser: webdriver.Chrome, element_id: str) -> str:
    element = WebDriverWait(browser, 20).until(
        expected_conditions.presence_of_element_located((By.ID, element_id))
    )
    return str(element.text)


def _code_from_outbox(browser: webdriver.Chrome, base: str, phone: str, seen: set[str]) -> str:
    """The newest code sent to ``phone`` that is not in ``seen``, read in another tab."""
    here = browser.current_window_handle
    browser.switch_to.new_window("tab")
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            browser.get(f"{base}/demo/sms")
            for row in browser.find_elements(By.CSS_SELECTOR, "#sms-outbox tr"):
                cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
                found = re.search(r"\d{6}", cells[2]) if len(cells) == 3 else None
                if found and cells[1] == phone and found.group(0) not in seen:
                    seen.add(found.group(0))
                    return found.group(0)
            time.sleep(0.3)
        raise AssertionError(f"no new code for {phone} in the outbox")
    finally:
        browser.close()
        browser.switch_to.window(here)


def _console_errors(browser: webdriver.Chrome) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


@pytest.mark.parametrize(
    ("lang", "phone", "name", "title_word"),
    [("zh-CN", "13612345678", "钱七", "注册"), ("en", "13712345678", "Qian Qi", "Create")],
)
def test_register_by_phone_then_sign_in_with_an_sms_code(
    chrome: webdriver.Chrome, demo: Server, lang: str, phone: str, name: str, title_word: str
) -> None:
    base, seen = demo.base_url, set[str]()
    chrome.get(f"{base}/?lang={lang}")  # the language choice is remembered
    chrome.get(f"{base}/demo/apps/permits/")
    chrome.find_element(By.ID, "sign-in").click()
    _wait(chrome, "login")
    chrome.find_element(By.ID, "register-link").click()
    _wait(chrome, "reg-phone")
    assert title_word in chrome.title
    chrome.find_element(By.ID, "reg-phone").send_keys(phone)
    chrome.find_element(By.CSS_SELECTOR, "form[action='/register/send'] button").click()
    _wait(chrome, "reg-code")
    chrome.find_element(By.ID, "reg-code").send_keys(_code_from_outbox(chrome, base, phone, seen))
    chrome.find_element(By.ID, "reg-name").send_keys(name)
    chrome.find_element(By.ID, "reg-password").send_keys(PASSWORD)
    chrome.find_element(By.CSS_SELECTOR, "form[action='/register'] button").click()
    assert _wait(chrome, "who") == name  # registered, signed in, back at the app

    chrome.find_element(By.ID, "sign-out").click()
    _wait(chrome, "sign-in")
    chrome.find_element(By.ID, "sign-in").click()
    _wait(chrome, "sms-phone")
    chrome.find_element(By.ID, "sms-phone").send_keys(phone)
    chrome.find_element(By.CSS_SELECTOR, "#part-sms button").click()
    _wait(chrome, "sms-code")
    assert phone[:3] + "****" + phone[-4:] in chrome.find_element(By.ID, "sms-sent").text
    chrome.find_element(By.ID, "sms-code").send_keys(_code_from_outbox(chrome, base, phone, seen))
    chrome.find_element(By.CSS_SELECTOR, "form[action='/login/sms'] button").click()
    assert _wait(chrome, "who") == name
    assert not _console_errors(chrome)
