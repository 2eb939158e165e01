"""QR sign-in (扫码登录) in real browsers: two headless Chromium profiles, a desktop showing
the QR code and a phone approving it, in zh-CN and en, without console errors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from idp.api.wording.qr_login import TEXT
from tests.flows.test_browser import _binaries, _console_errors
from tests.processes import Server, running_server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Callable[[str, str], webdriver.Chrome]]:
    """Start headless Chromium profiles (``name``, language); every one is quit afterwards."""
    chromium_path, driver = _binaries()
    started: list[webdriver.Chrome] = []

    def start(name: str, lang: str) -> webdriver.Chrome:
        options = webdriver.ChromeOptions()
        options.binary_location = chromium_path
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            f"--user-data-dir={tmp_path / name}",
            f"--lang={lang}",
        ):
            options.add_argument(flag)
        accept = "zh-CN,zh" if lang == "zh-CN" else "en-GB,en"
        options.add_experimental_option("prefs", {"intl.accept_languages": accept})
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        log = str(tmp_path / f"chromedriver-{name}.log")
        instance = webdriver.Chrome(  # stops by its own PIDs
            options=options, service=Service(executable_path=driver, log_output=log)
        )
        started.append(instance)
        return instance

    try:
        yield start
    finally:
        for instance in started:
            instance.quit()


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Server]:
    with running_server("demo", env={}, cwd=tmp_path) as server:
        yield server


def _wait_for(browser: webdriver.Chrome, element_id: str) -> str:
    element = WebDriverWait(browser, 20, ignored_exceptions=[StaleElementReferenceException]).until(
        expected_conditions.visibility_of_element_located((By.ID, element_id))
    )
    return str(element.text)


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_phone_signs_the_desktop_in_by_scanning(
    demo: Server, chromium: Callable[[str, str], webdriver.Chrome], lang: str
) -> None:
    # (The server starts first so it stops last: no page is long-polling it while it stops.)
    t = TEXT[lang]
    base = demo.base_url
    phone = chromium("phone", lang)
    desktop = chromium("desktop", lang)

    # The phone is signed in already.
    phone.get(f"{base}/demo/apps/permits/")
    phone.find_element(By.ID, "sign-in").click()
    _wait_for(phone, "login")
    phone.find_element(By.ID, "login").send_keys("citizen")
    phone.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    phone.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert _wait_for(phone, "who") == "张三"

    # The desktop's sign-in page shows a QR code and the number to pick.
    desktop.get(f"{base}/demo/apps/permits/")
    desktop.find_element(By.ID, "sign-in").click()
    _wait_for(desktop, "qr-image")
    assert t["qr_title"] in desktop.find_element(By.ID, "qr-login").text
    number = _wait_for(desktop, "qr-number")
    assert len(number) == 2 and number.isdigit()
    image = desktop.find_element(By.ID, "qr-image")
    assert desktop.execute_script("return arguments[0].naturalWidth", image) > 0
    url = str(image.get_attribute("data-url"))
    assert urlsplit(url).path.startswith("/qr/")
    assert desktop.find_element(By.ID, "qr-status").text == t["qr_pending"]

    # The phone opens the code's link: which app, which device, three numbers.
    phone.get(base + urlsplit(url).path)
    assert t["qr_phone_title"] in phone.title
    assert "Chrome" in _wait_for(phone, "qr-device")
    assert phone.find_element(By.ID, "qr-address").text == "127.0.0.1"
    choices = phone.find_elements(By.CSS_SELECTOR, "button.qr-choice")
    assert len(choices) == 3 and number in [c.text for c in choices]
    # The desktop's long-poll has seen the scan.
    WebDriverWait(desktop, 15).until(
        lambda b: b.find_element(By.ID, "qr-status").text == t["qr_scanned"]
    )

    phone.find_element(By.ID, f"qr-choice-{number}").click()
    assert _wait_for(phone, "qr-message") == t["qr_phone_approved"]
    # The desktop goes on by itself and arrives signed in at the app.
    assert _wait_for(desktop, "who") == "张三"
    assert not _console_errors(desktop)
    assert not _console_errors(phone)
