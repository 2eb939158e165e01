"""QR sign-in (扫码登录) in real browsers: two headless Chromium profiles, a desktop showing
the QR code and a phone approving it, in zh-CN and en, without console errors."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from idp.api.wording.qr_login import TEXT
from tests.browser import OpenChromium, console_errors, text_of
from tests.processes import Server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.one_demo]


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_phone_signs_the_desktop_in_by_scanning(
    demo: Server, chromium: OpenChromium, lang: str
) -> None:
    # (The server starts first so it stops last: no page is long-polling it while it stops.)
    t = TEXT[lang]
    base = demo.base_url
    phone = chromium("phone", lang)
    desktop = chromium("desktop", lang)

    # The phone is signed in already.
    phone.get(f"{base}/demo/apps/permits/")
    phone.find_element(By.ID, "sign-in").click()
    text_of(phone, "login", visible=True)
    phone.find_element(By.ID, "login").send_keys("citizen")
    phone.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    phone.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert text_of(phone, "who", visible=True) == "张三"

    # The desktop's sign-in page shows a QR code and the number to pick.
    desktop.get(f"{base}/demo/apps/permits/")
    desktop.find_element(By.ID, "sign-in").click()
    text_of(desktop, "qr-image", visible=True)
    assert t["qr_title"] in desktop.find_element(By.ID, "qr-login").text
    number = text_of(desktop, "qr-number", visible=True)
    assert len(number) == 2 and number.isdigit()
    image = desktop.find_element(By.ID, "qr-image")
    assert desktop.execute_script("return arguments[0].naturalWidth", image) > 0
    url = str(image.get_attribute("data-url"))
    assert urlsplit(url).path.startswith("/qr/")
    assert desktop.find_element(By.ID, "qr-status").text == t["qr_pending"]

    # The phone opens the code's link: which app, which device, three numbers.
    phone.get(base + urlsplit(url).path)
    assert t["qr_phone_title"] in phone.title
    assert "Chrome" in text_of(phone, "qr-device", visible=True)
    assert phone.find_element(By.ID, "qr-address").text == "127.0.0.1"
    choices = phone.find_elements(By.CSS_SELECTOR, "button.qr-choice")
    assert len(choices) == 3 and number in [c.text for c in choices]
    # The desktop's long-poll has seen the scan.
    WebDriverWait(desktop, 15).until(
        lambda b: b.find_element(By.ID, "qr-status").text == t["qr_scanned"]
    )

    phone.find_element(By.ID, f"qr-choice-{number}").click()
    assert text_of(phone, "qr-message", visible=True) == t["qr_phone_approved"]
    # The desktop goes on by itself and arrives signed in at the app.
    assert text_of(desktop, "who", visible=True) == "张三"
    assert not console_errors(desktop)
    assert not console_errors(phone)
