"""经办人 delegation in a real browser (headless Chromium on the demo): the bureau's
administrator authorises 张三 on the console (zh-CN), 张三 accepts on the account page and
signs in to an app as the bureau's agent, the administrator revokes it (English) and the app
sign-in no longer offers it; no console errors."""

from __future__ import annotations

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.browser import OpenChromium, click_to_new_page, console_errors, text_of
from tests.flows.test_console_browser import sign_in as console_sign_in
from tests.processes import Server
from tongxing.demo_data import BUREAU_NAME, DEMO_PASSWORD

pytestmark = pytest.mark.slow


def _main(browser: webdriver.Chrome) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


def _app_sign_in(browser: webdriver.Chrome, base: str) -> None:
    """Start a sign-in at the permits demo app (the SSO session answers it)."""
    browser.get(f"{base}/demo/apps/permits/login")
    WebDriverWait(browser, 20).until(
        lambda b: "/login/organisation" in b.current_url or b.find_elements(By.ID, "who")
    )


def test_authorise_accept_act_and_revoke(demo: Server, chromium: OpenChromium) -> None:
    base = demo.base_url
    officer = chromium("officer")
    console_sign_in(officer, base, "officer", organisation=BUREAU_NAME)
    officer.get(f"{base}/admin/organisations")
    click_to_new_page(officer, officer.find_element(By.CSS_SELECTOR, "#organisations tbody a"))
    text_of(officer, "agents-link")
    click_to_new_page(officer, officer.find_element(By.ID, "agents-link"))
    assert "经办人授权" in _main(officer)
    officer.find_element(By.ID, "agent-person").send_keys("citizen")
    Select(officer.find_element(By.ID, "agent-scope")).select_by_value("all")
    click_to_new_page(officer, officer.find_element(By.ID, "offer-agent-submit"))
    text_of(officer, "console-ok")
    row = officer.find_element(By.CSS_SELECTOR, "#agents tr[data-username=citizen]")
    assert row.get_attribute("data-status") == "offered" and "全业务" in row.text
    agents_url = officer.current_url.split("?")[0]

    citizen = chromium("citizen")
    citizen.get(f"{base}/demo/apps/permits/")
    click_to_new_page(citizen, citizen.find_element(By.ID, "sign-in"))
    text_of(citizen, "login")
    citizen.find_element(By.ID, "login").send_keys("citizen")
    citizen.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    citizen.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(citizen, "who") == "张三"  # not accepted yet: nothing to choose
    citizen.get(f"{base}/account")
    text_of(citizen, "agents")
    assert BUREAU_NAME in _main(citizen) and "待您确认" in _main(citizen)
    click_to_new_page(citizen, citizen.find_element(By.CSS_SELECTOR, "button.agent-accept"))
    text_of(citizen, "agents")
    assert "已接受" in _main(citizen)
    citizen.get(f"{base}/account?lang=en")
    assert "Agent authorisations" in _main(citizen) and "All business" in _main(citizen)

    # Signing in to the app now offers the bureau, as its agent.
    _app_sign_in(citizen, base)
    labels = citizen.find_elements(By.CSS_SELECTOR, "form label")
    chosen = next(label for label in labels if BUREAU_NAME in label.text)
    assert "agent" in chosen.text  # the page is in English now (the language was chosen)
    chosen.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
    citizen.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    text_of(citizen, "who")
    assert f"{BUREAU_NAME}" in _main(citizen) and "agent）" in _main(citizen)

    # The administrator revokes it (in English); the app sign-in no longer offers it.
    officer.get(f"{agents_url}?lang=en")
    assert "Agent authorisations" in _main(officer)
    click_to_new_page(officer, officer.find_element(By.CSS_SELECTOR, "button.revoke-agent"))
    text_of(officer, "console-ok")
    row = officer.find_element(By.CSS_SELECTOR, "#agents tr[data-username=citizen]")
    assert row.get_attribute("data-status") == "revoked" and "Revoked" in row.text
    _app_sign_in(citizen, base)
    assert "/login/organisation" not in citizen.current_url
    text_of(citizen, "who")
    assert "个人 Personal" in _main(citizen)
    assert not console_errors(officer)
    assert not console_errors(citizen)
