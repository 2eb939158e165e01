"""The console in a real browser (Debian's headless Chromium): administrators sign in
through the IdP, and the audit browser checks entries with WebCrypto against the log key
the auditor pinned. No console errors, zh-CN and English."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from tests import demo_codes
from tests.browser import OpenChromium, console_errors
from tests.processes import Server
from tongxing.demo_data import DEMO_PASSWORD

pytestmark = pytest.mark.slow
Browser = webdriver.Chrome


def wait(browser: Browser, check: Callable[[Browser], object], seconds: float = 20) -> object:
    return WebDriverWait(browser, seconds).until(check)


def sign_in(browser: Browser, base: str, login: str, *, organisation: str | None = None) -> None:
    """Sign in to the console on the IdP's pages (choosing the organisation to act for)."""
    browser.get(f"{base}/admin/")
    browser.find_element(By.ID, "sign-in").click()
    wait(browser, lambda b: b.find_elements(By.ID, "login"))
    browser.find_element(By.ID, "login").send_keys(login)
    browser.find_element(By.ID, "password").send_keys(DEMO_PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    if organisation is not None:
        wait(browser, lambda b: "/login/organisation" in b.current_url)
        labels = browser.find_elements(By.CSS_SELECTOR, "form label")
        chosen = next(label for label in labels if organisation in label.text)
        chosen.find_element(By.CSS_SELECTOR, "input[type=radio]").click()
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    # Acting as an administrator needs a second factor: the seeded TOTP, typed by hand.
    wait(browser, lambda b: "/login/factor" in b.current_url or b.find_elements(By.ID, "who"))
    assert "/login/factor" in browser.current_url, "an administrator without a second factor"
    assert not browser.find_elements(By.ID, "password")  # only what is missing is asked
    form = browser.find_element(By.CSS_SELECTOR, "form[action='/login/factor/totp']")
    form.find_element(By.NAME, "code").send_keys(demo_codes.code(login, demo=base))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(browser, lambda b: b.find_elements(By.ID, "who"))


def pin_log_key(browser: Browser, base: str, *, pem: str, origin: str) -> None:
    """The auditor pins the log key obtained from a trusted channel."""
    browser.get(f"{base}/admin/audit")
    field = browser.find_element(By.ID, "pin-origin")
    field.clear()
    field.send_keys(origin)
    browser.find_element(By.ID, "pin-pem").send_keys(pem)
    browser.find_element(By.ID, "pin-key").click()


def checked(browser: Browser) -> int:
    """How many entries on the audit page the browser verified (after it finished)."""
    wait(
        browser,
        lambda b: b.find_element(By.ID, "audit-browser").get_attribute("data-checked") == "done",
    )
    return int(browser.find_element(By.ID, "audit-browser").get_attribute("data-verified") or 0)


def test_the_auditor_verifies_entries_in_the_browser(demo: Server, chromium: OpenChromium) -> None:
    base = demo.base_url
    key = httpx.get(f"{base}/audit/v1/key").json()
    auditor = chromium("auditor")
    sign_in(auditor, base, "auditor")
    assert "审计日志" in auditor.find_element(By.TAG_NAME, "header").text
    auditor.get(f"{base}/admin/audit")
    status = auditor.find_element(By.ID, "checkpoint-status")
    wait(auditor, lambda b: "failed" in status.get_attribute("class"))  # nothing pinned yet
    pin_log_key(auditor, base, pem=key["public_key_pem"], origin=key["origin"])
    assert checked(auditor) >= 10
    rows = auditor.find_elements(By.CSS_SELECTOR, "tr[data-leaf] td.verdict")
    assert all("failed" not in r.get_attribute("class") for r in rows)
    auditor.get(f"{base}/admin/audit?lang=en")  # the pin stays in this browser
    assert checked(auditor) >= 10
    assert "Verified" in auditor.find_element(By.ID, "events").text
    assert not console_errors(auditor)

    # A key that is not the log's: the checkpoint is refused, nothing counts as verified.
    other = chromium("other")
    sign_in(other, base, "auditor")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    stranger = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    pin_log_key(other, base, pem=stranger, origin=key["origin"])
    wait(
        other,
        lambda b: "failed" in b.find_element(By.ID, "checkpoint-status").get_attribute("class"),
    )
    assert other.find_element(By.ID, "audit-browser").get_attribute("data-verified") is None


def _submit(browser: Browser, selector: str) -> None:
    browser.find_element(By.CSS_SELECTOR, selector).click()
    wait(
        browser,
        lambda b: b.find_elements(By.ID, "console-ok") or b.find_elements(By.ID, "console-error"),
    )
    errors = browser.find_elements(By.ID, "console-error")
    assert not errors, errors[0].text


def test_walk_apply_approve_grant_seal_and_audit(demo: Server, chromium: OpenChromium) -> None:
    """The issue's proof: an organisation administrator applies for a seal, the security
    administrator approves, the system administrator asks for and the organisation
    administrator approves a grant for the demo certificate system, which seals the demo permit; the auditor finds all four events
    with their proofs checked in the browser."""
    base = demo.base_url
    officer = chromium("officer")
    sign_in(officer, base, "officer", organisation="通行市住房和城乡建设局")
    officer.get(f"{base}/admin/seal-applications")
    officer.find_element(By.CSS_SELECTOR, "#seal-type option[value=certificate]").click()
    officer.find_element(By.ID, "seal-name").send_keys("证照专用章（演示）")
    _submit(officer, "#apply-submit")
    filed = officer.find_element(By.CSS_SELECTOR, "#applications tr[data-status=pending]")
    application_id = filed.get_attribute("id")
    assert not officer.find_elements(By.CSS_SELECTOR, f"[id='{application_id}'] .approve")

    other = chromium("security")
    sign_in(other, base, "secadmin")
    other.get(f"{base}/admin/seal-applications")
    _submit(other, f"[id='{application_id}'] button.approve")
    row = other.find_element(By.ID, application_id)
    assert row.get_attribute("data-status") == "approved"
    seal_id = row.find_element(By.CSS_SELECTOR, "td:nth-child(6) code").text
    assert seal_id
    assert not console_errors(other)

    officer.get(f"{base}/admin/seals")
    image = officer.find_element(By.CSS_SELECTOR, f"[id='{seal_id}'] img")
    assert officer.execute_script("return arguments[0].naturalWidth", image) > 0
    # The system administrator asks for the grant (in the second profile); the bureau's
    # administrator approves it (whoever asks does not also approve).
    other.find_element(By.ID, "sign-out").click()
    wait(other, lambda b: b.find_elements(By.ID, "sign-in"))
    sign_in(other, base, "sysadmin")
    other.get(f"{base}/admin/grants")
    other.find_element(By.ID, "grant-seal").send_keys(seal_id)
    other.find_element(By.ID, "grant-client").send_keys("demo-certsys")
    _submit(other, "#request-grant-submit")
    pending = f"#grants tr[data-seal='{seal_id}'][data-status=pending]"
    assert other.find_elements(By.CSS_SELECTOR, pending)
    assert not console_errors(other)
    officer.get(f"{base}/admin/grants")
    _submit(officer, f"{pending} button.approve")
    assert officer.find_elements(
        By.CSS_SELECTOR, f"#grants tr[data-seal='{seal_id}'][data-status=active]"
    )
    assert not console_errors(officer)

    # The certificate system seals the demo permit with the new seal, over HTTP.
    token = httpx.post(
        f"{base}/token",
        data={"grant_type": "client_credentials", "scope": "seal:sign"},
        auth=("demo-certsys", "Tongxing-demo-certsys-2026"),
    ).json()["access_token"]
    permit = httpx.get(f"{base}/demo/certificate.pdf").content
    sealed = httpx.post(
        f"{base}/seal/v1/sign",
        headers={"authorization": f"Bearer {token}"},
        files={"file": ("permit.pdf", permit, "application/pdf")},
        data={"seal_id": seal_id, "anchor": "（盖章）"},
        timeout=60,
    )
    assert sealed.status_code == 200, sealed.text[:500]
    sealed_index = sealed.headers["Tongxing-Audit-Index"]

    # The audit administrator, in the second profile, finds the four events and their proofs.
    other.find_element(By.ID, "sign-out").click()
    wait(other, lambda b: b.find_elements(By.ID, "sign-in"))
    sign_in(other, base, "auditor")
    key = httpx.get(f"{base}/audit/v1/key").json()
    pin_log_key(other, base, pem=key["public_key_pem"], origin=key["origin"])
    checked(other)
    for kind in (
        "seal.application.filed",
        "seal.application.approved",
        "seal.grant.approved",
        "seal.applied",
    ):
        other.get(f"{base}/admin/audit?type={kind}")
        assert checked(other) >= 1
        rows = other.find_elements(By.CSS_SELECTOR, f"tr[data-type='{kind}']")
        assert rows, kind
        newest = rows[0]
        actor = newest.get_attribute("data-actor")
        expected = {
            "seal.application.filed": "person:officer",
            "seal.application.approved": "person:secadmin",
            "seal.grant.approved": "person:officer",
            "seal.applied": "client:demo-certsys",
        }[kind]
        assert actor == expected, (kind, actor)
        if kind == "seal.applied":
            assert newest.get_attribute("data-index") == sealed_index
        verdict = newest.find_element(By.CSS_SELECTOR, "td.verdict")
        assert "verified" in verdict.get_attribute("class"), (kind, verdict.text)
    assert not console_errors(other)
    assert not console_errors(officer)


def _visit(browser: Browser, url: str, lang: str) -> None:
    """Open a console page in ``lang``: it renders in that language, fits the window (no
    sideways scrolling of the page itself: wide tables scroll in their own box)."""
    browser.get(f"{url}{'&' if '?' in url else '?'}lang={lang}")
    wait(browser, lambda b: b.find_elements(By.ID, "who"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang, url
    assert not browser.find_elements(By.ID, "console-error"), url
    overflow = browser.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, (url, overflow)


def _href(browser: Browser, selector: str) -> str:
    return str(browser.find_element(By.CSS_SELECTOR, selector).get_attribute("href"))


def test_every_console_page_in_both_languages(demo: Server, chromium: OpenChromium) -> None:
    """Each screen opened by its role, in zh-CN at 1280 px and in English at phone width,
    with no browser console errors (strict CSP: no inline script or style)."""
    base = demo.base_url
    history = f"{base}/admin/seals/seal_demo_approval/history"
    system = chromium("system")
    sign_in(system, base, "sysadmin")
    system.get(f"{base}/admin/people")
    person = _href(system, "#people tr[data-username=officer] a")
    system.get(f"{base}/admin/organisations")
    organisation = _href(system, "#organisations tbody a")
    visits: list[tuple[Browser, list[str]]] = [
        (
            system,
            [
                f"{base}/admin/",
                f"{base}/admin/people",
                person,
                f"{base}/admin/organisations",
                organisation,
                f"{base}/admin/clients",
                f"{base}/admin/clients/demo-certsys",
                f"{base}/admin/keys",
            ],
        )
    ]
    security = chromium("security")
    sign_in(security, base, "secadmin")
    visits.append((security, [f"{base}/admin/keys", f"{base}/admin/", person]))
    auditor = chromium("auditor")
    sign_in(auditor, base, "auditor")
    visits.append((auditor, [f"{base}/admin/", history]))
    officer = chromium("officer")
    sign_in(officer, base, "officer", organisation="通行市住房和城乡建设局")
    visits.append(
        (
            officer,
            [
                f"{base}/admin/",
                f"{base}/admin/people",
                f"{base}/admin/organisations",
                f"{base}/admin/clients",
                history,
            ],
        )
    )
    for browser, urls in visits:
        for lang, width in (("zh-CN", 1280), ("en", 390)):
            browser.set_window_size(width, 900)
            for url in urls:
                _visit(browser, url, lang)
        assert not console_errors(browser), urls
    assert auditor.find_elements(By.CSS_SELECTOR, "#seal-events tr[data-type]")
    assert "Seal history" in auditor.page_source
