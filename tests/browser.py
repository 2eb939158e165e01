"""Headless Chromium for the tests a person's clicks are tried in (Debian ``chromium`` and
``chromium-driver``), and the demo they click through: one set-up for every browser test."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests import backends
from tests.processes import Server, running_server

# The languages every page is tried in, and what the browser says it accepts for each.
ACCEPT_LANGUAGE = {"zh-CN": "zh-CN,zh", "en": "en-GB,en"}
# The `chromium` fixture (tests/flows/conftest.py): opens a profile by name and language.
OpenChromium = Callable[..., webdriver.Chrome]


def binaries() -> tuple[str, str]:
    """Chromium and chromedriver (required in CI; elsewhere their tests are skipped)."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        if backends.IN_CI:
            raise RuntimeError("chromium and chromium-driver (Debian) are required in CI")
        pytest.skip("chromium / chromedriver not installed (Debian chromium chromium-driver)")
    return chromium, driver


def open_chromium(profile: Path, *, lang: str = "zh-CN") -> webdriver.Chrome:
    """A headless Chromium with a profile of its own (cookies, storage) in ``lang``; the
    caller quits it (chromedriver stops the browser by its own PIDs)."""
    chromium, driver = binaries()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--user-data-dir={profile}",
        f"--lang={lang}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": ACCEPT_LANGUAGE[lang]})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    log = profile.with_name(f"{profile.name}-chromedriver.log")
    return webdriver.Chrome(options=options, service=Service(driver, log_output=str(log)))


def add_passkey_authenticator(browser: webdriver.Chrome) -> None:
    """A virtual platform authenticator (CTAP2, resident keys, user verification) through the
    Chrome DevTools Protocol, as a phone's or laptop's built-in one would be."""
    browser.execute_cdp_cmd("WebAuthn.enable", {})
    browser.execute_cdp_cmd(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )


def console_errors(browser: webdriver.Chrome) -> list[str]:
    """SEVERE entries of the browser console (CSP violations, script errors, 4xx/5xx)."""
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def text_of(
    browser: webdriver.Chrome, element_id: str, *, visible: bool = False, seconds: float = 20
) -> str:
    """The text of the element with ``element_id`` once it is on the page (or shown); an
    element read while the page is being replaced is looked up again."""
    arrived = (
        expected_conditions.visibility_of_element_located
        if visible
        else expected_conditions.presence_of_element_located
    )
    wait = WebDriverWait(browser, seconds, ignored_exceptions=[StaleElementReferenceException])

    def read(driver: webdriver.Chrome) -> tuple[str] | None:
        element = arrived((By.ID, element_id))(driver)
        return (str(element.text),) if element else None  # a tuple: "" is text too

    found: tuple[str] = wait.until(read)
    return found[0]


def click_to_new_page(browser: webdriver.Chrome, button: WebElement) -> None:
    """Click ``button`` and wait until the page it leads to has replaced this one (so that
    an element with the same id is not read from the old page)."""
    page = browser.find_element(By.TAG_NAME, "html")
    button.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(page))


def signed_out_soon(browser: webdriver.Chrome, url: str, *, seconds: float = 30) -> None:
    """The app at ``url`` shows its sign-in link within ``seconds``: a back-channel logout is
    delivered after the answer that ended the session, so the page is loaded again until it
    has arrived."""
    deadline = time.monotonic() + seconds
    while True:
        browser.get(url)
        if browser.find_elements(By.ID, "sign-in"):
            return
        assert time.monotonic() < deadline, f"{url} still signed in"
        time.sleep(0.3)


@contextmanager
def running_demo(cwd: Path, *, env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """``tongxing demo`` on a free port, addressed by its issuer ``http://localhost:PORT``
    (browsers refuse passkeys on an IP-address origin; it listens on 127.0.0.1 only)."""
    # The first start creates keys and seeds people, apps and seals: on a loaded machine
    # with two test workers and browsers that has taken most of a minute.
    with running_server("demo", env=env or {}, cwd=cwd, ready_timeout=240) as server:
        yield server
