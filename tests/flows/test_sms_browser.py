"""A real browser (headless Chromium) registers with a phone number on the way to a demo app,
reading the code from the demo outbox (/demo/sms), signs out, and signs in again with an SMS
code; in zh-CN and en, with no console errors."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import console_errors, running_demo, text_of
from tests.processes import Server

pytestmark = pytest.mark.slow
PASSWORD = "my own passphrase 2026"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Server]:
    # One code per number a minute would hold up the sign-in right after registering.
    with running_demo(tmp_path, env={"TONGXING_SMS_SEND_INTERVAL_SECONDS": "1"}) as server:
        yield server


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


@pytest.mark.parametrize(
    ("lang", "phone", "name", "title_word"),
    [("zh-CN", "13612345678", "钱七", "注册"), ("en", "13712345678", "Qian Qi", "Create")],
)
def test_register_by_phone_then_sign_in_with_an_sms_code(
    demo: Server, browser: webdriver.Chrome, lang: str, phone: str, name: str, title_word: str
) -> None:
    base, seen = demo.base_url, set[str]()
    browser.get(f"{base}/?lang={lang}")  # the language choice is remembered
    browser.get(f"{base}/demo/apps/permits/")
    browser.find_element(By.ID, "sign-in").click()
    text_of(browser, "login")
    browser.find_element(By.ID, "register-link").click()
    text_of(browser, "reg-phone")
    assert title_word in browser.title
    browser.find_element(By.ID, "reg-phone").send_keys(phone)
    browser.find_element(By.CSS_SELECTOR, "form[action='/register/send'] button").click()
    text_of(browser, "reg-code")
    browser.find_element(By.ID, "reg-code").send_keys(_code_from_outbox(browser, base, phone, seen))
    browser.find_element(By.ID, "reg-name").send_keys(name)
    browser.find_element(By.ID, "reg-password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form[action='/register'] button").click()
    assert text_of(browser, "who") == name  # registered, signed in, back at the app

    browser.find_element(By.ID, "sign-out").click()
    text_of(browser, "sign-in")
    browser.find_element(By.ID, "sign-in").click()
    text_of(browser, "sms-phone")
    browser.find_element(By.ID, "sms-phone").send_keys(phone)
    browser.find_element(By.CSS_SELECTOR, "#part-sms button").click()
    text_of(browser, "sms-code")
    assert phone[:3] + "****" + phone[-4:] in browser.find_element(By.ID, "sms-sent").text
    browser.find_element(By.ID, "sms-code").send_keys(_code_from_outbox(browser, base, phone, seen))
    browser.find_element(By.CSS_SELECTOR, "form[action='/login/sms'] button").click()
    assert text_of(browser, "who") == name
    assert not console_errors(browser)
