"""A real browser (headless Chromium) raises a demo person's identity level on the account
page: the real-name check (L1 → L2) and the development face check (L2 → L3), in zh-CN,
then the part in English; no console errors (CSP: no inline script)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser import console_errors, running_demo, text_of
from tests.in_process import tongxing
from tests.processes import Server

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery staple"
NUMBER = "350102200001012463"  # 周九 in the demo registry (idp.proofing.DEMO_REGISTRY)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Server]:
    """The demo with 周九, a person who has not yet proved who they are (level 1)."""
    with running_demo(tmp_path) as server:
        made = tongxing(
            "users", "create", "--username", "zhoujiu", "--name", "周九", "--password-stdin",
            env={"TONGXING_MODE": "demo"}, cwd=tmp_path, stdin=PASSWORD + "\n",
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        yield server


def test_a_person_verifies_their_identity_in_a_browser(
    demo: Server, browser: webdriver.Chrome
) -> None:
    base = demo.base_url
    browser.get(f"{base}/demo/apps/permits/")
    browser.find_element(By.ID, "sign-in").click()
    text_of(browser, "login")
    browser.find_element(By.ID, "login").send_keys("zhoujiu")
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(browser, "who") == "周九"

    browser.get(f"{base}/account")
    section = text_of(browser, "proofing")
    assert "实名核验" in section and "L1 自报身份" in section
    assert browser.find_element(By.CSS_SELECTOR, "label[for=proofing-number]").text == "身份证号"
    browser.find_element(By.ID, "proofing-name").send_keys("周九")
    browser.find_element(By.ID, "proofing-number").send_keys(NUMBER)
    browser.find_element(By.CSS_SELECTOR, "#proofing button[type=submit]").click()
    assert "核验通过" in text_of(browser, "proofing-result")
    section = browser.find_element(By.ID, "proofing").text
    assert "L2 姓名与身份证号已经权威核验" in section and "350***********2463" in section

    browser.find_element(By.ID, "proofing-face-start").click()
    text_of(browser, "proofing-face-confirm")
    assert "人脸识别 SDK" in browser.find_element(By.TAG_NAME, "main").text
    browser.find_element(By.ID, "proofing-face-confirm").click()
    assert "核验通过" in text_of(browser, "proofing-result")
    assert "L3 已通过人脸核验" in browser.find_element(By.ID, "proofing").text

    browser.get(f"{base}/account?lang=en")
    section = text_of(browser, "proofing")
    assert "Identity verification" in section and "L3 confirmed by a face check" in section
    assert "bring your identity card to a service counter" in section
    assert not console_errors(browser)
