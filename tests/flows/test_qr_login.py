"""QR cross-device sign-in (扫码登录) over HTTP with two browsers, a desktop and a phone, on
one app in both storage configurations: the whole flow, with the phone's level and methods
carried over; expired, reused, refused and mismatched codes; other browsers and phones."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.settings import Settings
from idp import assurance
from tests import oidc
from tests.oidc import location, query
from tongxing import create_app

LOA = assurance.acr


@pytest.fixture
def qr_ttl() -> int:
    """How long QR codes live (a test parametrises it to see them expire)."""
    return 60


@pytest.fixture
def desktop(make_settings: Callable[..., Settings], qr_ttl: int) -> Iterator[TestClient]:
    """The desktop browser; a person proofed at level 4 with a TOTP authenticator, one at
    level 2, a first-party app."""
    app = create_app(make_settings(qr_login_ttl_seconds=qr_ttl))
    with TestClient(app, raise_server_exceptions=False) as client:
        domain = oidc.domain_of(client)
        oidc.add_person(domain, "zhangsan", proofing_level=4, second_factor=True)
        oidc.add_person(domain, "lisi", name="李四", proofing_level=2)
        oidc.add_rp(domain, first_party=True)
        yield client


def _browser(desktop: TestClient) -> TestClient:
    """Another browser (its own cookies) on the same app."""
    return TestClient(desktop.app, base_url=str(desktop.base_url), raise_server_exceptions=False)


@pytest.fixture
def phone(desktop: TestClient) -> TestClient:
    """A phone signed in as zhangsan with password and TOTP (level 3)."""
    browser = _browser(desktop)
    oidc.sign_in(browser, oidc.Request(extra={"acr_values": LOA(3)}))
    return browser


def _login_page(browser: TestClient, request: oidc.Request) -> httpx.Response:
    page = browser.get(location(browser.get(request.url(), follow_redirects=False)))
    assert page.status_code == 200, page.text[:300]
    return page


def _create(browser: TestClient, page: httpx.Response) -> dict[str, Any]:
    made = browser.post(
        "/login/qr",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
        },
    )
    assert made.status_code == 200, made.text
    qr: dict[str, Any] = made.json()
    return qr


def _start(desktop: TestClient, request: oidc.Request) -> tuple[httpx.Response, dict[str, Any]]:
    page = _login_page(desktop, request)
    assert 'id="qr-login"' in page.text and "/static/idp/qr-login.js" in page.text
    return page, _create(desktop, page)


def _wait(browser: TestClient, qr: dict[str, Any], seen: str, wait: float = 0) -> httpx.Response:
    return browser.get(
        f"/login/qr/{qr['id']}/wait",
        params={"seen": seen, "wait": wait},
        headers={"X-QR-Token": qr["token"]},
    )


def _state(browser: TestClient, qr: dict[str, Any], seen: str = "-") -> str:
    answer = _wait(browser, qr, seen)
    assert answer.status_code == 200, answer.text
    state: str = answer.json()["state"]
    return state


def _phone_path(qr: dict[str, Any]) -> str:
    assert qr["url"].startswith("http://127.0.0.1:8000/qr/")  # the issuer's URL, in the QR
    return urlsplit(qr["url"]).path


def _scan(phone: TestClient, qr: dict[str, Any]) -> httpx.Response:
    page = phone.get(_phone_path(qr), follow_redirects=False)
    assert page.status_code == 200, page.text[:500]
    return page


def _answer(phone: TestClient, qr: dict[str, Any], page: httpx.Response, **form: str) -> Any:
    return phone.post(
        _phone_path(qr), data={"csrf_token": oidc.hidden(page.text, "csrf_token"), **form}
    )


def _finish(browser: TestClient, page: httpx.Response, qr: dict[str, Any]) -> httpx.Response:
    return browser.post(
        f"/login/qr/{qr['id']}/finish",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "token": qr["token"],
        },
        follow_redirects=False,
    )


def _audit(client: TestClient) -> list[AuditEntry]:
    with oidc.domain_of(client).keys.database.reading() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.index)))


def test_the_phone_signs_the_desktop_in_with_its_level_and_methods(
    desktop: TestClient, phone: TestClient
) -> None:
    request = oidc.Request()
    page, qr = _start(desktop, request)
    assert qr["image"].startswith("data:image/svg+xml")
    assert len(qr["number"]) == 2 and qr["expires_in"] == 60
    assert _state(desktop, qr, "-") == "pending"
    # The long-poll answers "pending" again when nothing changed within its wait.
    started = time.monotonic()
    assert _wait(desktop, qr, "pending", wait=0.5).json() == {"state": "pending"}
    assert 0.4 <= time.monotonic() - started < 3

    scanned = _scan(phone, qr)
    assert "App permits" in scanned.text  # which app asks
    assert "testclient" in scanned.text  # which device (the desktop's address)
    choices = [c for c in qr_choices(scanned.text)]
    assert len(choices) == 3 and qr["number"] in choices and len(set(choices)) == 3
    assert _state(desktop, qr, "pending") == "scanned"

    approved = _answer(phone, qr, scanned, number=qr["number"])
    assert approved.status_code == 200 and 'id="qr-message"' in approved.text
    assert _state(desktop, qr, "scanned") == "approved"

    response = _finish(desktop, page, qr)
    callback = query(oidc.follow_to_rp(desktop, response))
    assert callback["state"] == request.state
    tokens = oidc.redeem(desktop, request, callback["code"])
    assert tokens.status_code == 200, tokens.text
    claims = oidc.jwt_claims(tokens.json()["id_token"])
    # The phone signed in with password + TOTP: the desktop's session has both.
    assert claims["acr"] == LOA(3)
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    # The desktop now has its own SSO session: the next request needs no sign-in at all.
    again = oidc.Request(extra={"acr_values": LOA(3)})
    assert query(location(desktop.get(again.url(), follow_redirects=False)))["code"]

    entries = _audit(desktop)
    types = [e.type for e in entries]
    for event in ("qr.created", "qr.scanned", "qr.approved"):
        assert types.count(event) == 1, (event, types)
    succeeded = json.loads([e for e in entries if e.type == "login.succeeded"][-1].leaf)
    assert succeeded["details"]["via"] == "qr"
    assert succeeded["details"]["acr"] == LOA(3)
    leaves = b"".join(bytes(e.leaf) for e in entries).decode()
    assert qr["token"] not in leaves and qr["id"] not in leaves  # no secret in the log


def qr_choices(html: str) -> list[str]:
    """The numbers the phone page offers."""
    import re

    return re.findall(r'name="number" value="(\d\d)"', html)


def test_a_used_code_cannot_be_used_again(desktop: TestClient, phone: TestClient) -> None:
    page, qr = _start(desktop, oidc.Request())
    scanned = _scan(phone, qr)
    _answer(phone, qr, scanned, number=qr["number"])
    assert _finish(desktop, page, qr).status_code == 303
    # The same page again: its sign-in is over.
    assert _finish(desktop, page, qr).status_code == 400
    # A new sign-in page in the same browser, with the old code and its token.
    reused = _finish(desktop, _login_page(desktop, oidc.Request(extra={"prompt": "login"})), qr)
    assert reused.status_code == 400
    assert "已使用" in reused.text or "already used" in reused.text
    assert _state(desktop, qr) == "used"
    # The phone cannot answer it again either.
    again = _answer(phone, qr, scanned, number=qr["number"])
    assert again.status_code == 400


def test_a_wrong_number_cancels_the_request(desktop: TestClient, phone: TestClient) -> None:
    page, qr = _start(desktop, oidc.Request())
    scanned = _scan(phone, qr)
    wrong = next(c for c in qr_choices(scanned.text) if c != qr["number"])
    mismatched = _answer(phone, qr, scanned, number=wrong)
    assert mismatched.status_code == 400
    assert "不一致" in mismatched.text or "not the one" in mismatched.text
    assert _state(desktop, qr, "scanned") == "mismatched"
    # The right number afterwards does not help: the request is over.
    assert _answer(phone, qr, scanned, number=qr["number"]).status_code == 400
    refused = _finish(desktop, page, qr)
    assert refused.status_code == 400
    assert "不匹配" in refused.text or "did not match" in refused.text
    assert "qr.mismatched" in [e.type for e in _audit(desktop)]
    assert "qr.approved" not in [e.type for e in _audit(desktop)]


def test_the_phone_can_refuse(desktop: TestClient, phone: TestClient) -> None:
    page, qr = _start(desktop, oidc.Request())
    scanned = _scan(phone, qr)
    denied = _answer(phone, qr, scanned, deny="1")
    assert denied.status_code == 200
    assert _state(desktop, qr, "scanned") == "denied"
    assert _finish(desktop, page, qr).status_code == 400
    assert "qr.denied" in [e.type for e in _audit(desktop)]


# Creation is recorded in whole seconds (rounded down): the scan has 3 to 4 s, plenty on a
# loaded machine.
@pytest.mark.parametrize("qr_ttl", [4])
def test_an_expired_code_fails_clearly(desktop: TestClient, phone: TestClient) -> None:
    page, qr = _start(desktop, oidc.Request())
    scanned = _scan(phone, qr)
    time.sleep(4.2)
    assert _state(desktop, qr, "scanned") == "expired"
    late = _answer(phone, qr, scanned, number=qr["number"])
    assert late.status_code == 400
    assert "过期" in late.text or "expired" in late.text
    assert _finish(desktop, page, qr).status_code == 400
    assert phone.get(_phone_path(qr), follow_redirects=False).status_code == 404


def test_another_browser_cannot_use_the_desktops_code(
    desktop: TestClient, phone: TestClient
) -> None:
    page, qr = _start(desktop, oidc.Request())
    scanned = _scan(phone, qr)
    _answer(phone, qr, scanned, number=qr["number"])
    # An attacker who saw the QR code (its id) and even the poll token, in their own browser
    # with their own sign-in page: neither the state nor the approval is theirs.
    attacker = _browser(desktop)
    their_page = _login_page(attacker, oidc.Request())
    assert _wait(attacker, qr, "-").status_code == 404
    stolen = _finish(attacker, their_page, qr)
    assert stolen.status_code == 400
    assert "不属于此浏览器" in stolen.text or "another browser" in stolen.text
    assert "tx_sso" not in attacker.cookies
    # The desktop without its poll token gets nothing either; with it, it signs in.
    assert _wait(desktop, {**qr, "token": "x" * 43}, "-").status_code == 404
    assert _finish(desktop, page, {**qr, "token": "x" * 43}).status_code == 400
    assert _finish(desktop, page, qr).status_code == 303


def test_a_second_phone_cannot_take_over_a_scanned_code(
    desktop: TestClient, phone: TestClient
) -> None:
    _, qr = _start(desktop, oidc.Request())
    _scan(phone, qr)
    other = _browser(desktop)
    oidc.sign_in(other, oidc.Request(), login="lisi")
    taken = other.get(_phone_path(qr))
    assert taken.status_code == 400
    assert _state(desktop, qr, "-") == "scanned"


def test_a_phone_not_signed_in_signs_in_first_and_comes_back(desktop: TestClient) -> None:
    request = oidc.Request()
    page, qr = _start(desktop, request)
    phone = _browser(desktop)
    sent = phone.get(_phone_path(qr), follow_redirects=False)
    assert location(sent).startswith("/login?interaction=")
    login = phone.get(location(sent))
    assert login.status_code == 200
    assert 'id="qr-login"' not in login.text  # no QR code to sign the phone in
    back = oidc.submit_login(phone, login.text, login="lisi")
    assert location(back) == _phone_path(qr)
    scanned = _scan(phone, qr)
    assert _answer(phone, qr, scanned, number=qr["number"]).status_code == 200
    callback = query(oidc.follow_to_rp(desktop, _finish(desktop, page, qr)))
    claims = oidc.jwt_claims(oidc.redeem(desktop, request, callback["code"]).json()["id_token"])
    assert claims["acr"] == LOA(2) and claims["amr"] == ["pwd"]  # the phone's password only


def test_the_phone_signing_out_meanwhile_stops_the_desktop(
    desktop: TestClient, phone: TestClient
) -> None:
    page, qr = _start(desktop, oidc.Request())
    scanned = _scan(phone, qr)
    _answer(phone, qr, scanned, number=qr["number"])
    account = phone.get("/account")
    ended = phone.post(
        "/account/sign-out-everywhere", data={"csrf_token": oidc.hidden(account.text, "csrf_token")}
    )
    assert ended.status_code == 200
    assert _finish(desktop, page, qr).status_code == 400


def test_forms_without_their_tokens_are_refused(desktop: TestClient, phone: TestClient) -> None:
    page, qr = _start(desktop, oidc.Request())
    interaction = oidc.hidden(page.text, "interaction")
    assert desktop.post("/login/qr", data={"interaction": interaction}).status_code == 403
    assert desktop.post("/login/qr", data={"interaction": "nope"}).status_code == 404
    scanned = _scan(phone, qr)
    forged = phone.post(_phone_path(qr), data={"csrf_token": "x", "number": qr["number"]})
    assert forged.status_code == 403
    assert _state(desktop, qr, "-") == "scanned"
    assert scanned.status_code == 200
    for wait in ("nan", "inf", "26", "-1"):  # the long-poll's wait is bounded
        assert _wait(desktop, qr, "scanned", wait=wait).status_code == 422  # type: ignore[arg-type]
