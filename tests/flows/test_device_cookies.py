"""Sign-in limits with device cookies over HTTP, in both storage configurations: a stranger's
guesses lock strangers out, never the browser the person signed in with before (OWASP
"Slow Down Online Guessing Attacks with Device Cookies"). Each browser is its own cookie jar."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from idp.device_cookies import COOKIE as DEVICE_COOKIE
from idp.sessions import COOKIE as SSO_COOKIE
from tests import oidc
from tests.oidc import location


@pytest.fixture
def person(client: TestClient) -> TestClient:
    """The person's own browser, which signed in before (it holds a device cookie for
    zhangsan) and has since signed out (no SSO session)."""
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_person(domain, "lisi", name="李四")
    oidc.add_rp(domain, first_party=True)
    signed_in = oidc.submit_login(client, _page(client))
    assert location(signed_in).startswith(oidc.REDIRECT)
    client.cookies.delete(SSO_COOKIE)
    return client


def _browser(client: TestClient, device_cookie: str | None = None) -> TestClient:
    """Another browser (its own cookie jar), optionally holding ``device_cookie``."""
    browser = TestClient(client.app, raise_server_exceptions=False)
    if device_cookie is not None:
        browser.cookies.set(DEVICE_COOKIE, device_cookie)
    return browser


def _page(browser: TestClient) -> str:
    """The sign-in page of a new authorization request in ``browser``."""
    response = browser.get(oidc.Request().url(), follow_redirects=False)
    page = browser.get(location(response))
    assert page.status_code == 200, page.text[:300]
    return page.text


def _try(browser: TestClient, password: str, login: str = "zhangsan") -> httpx.Response:
    return oidc.submit_login(browser, _page(browser), login=login, password=password)


def _guess(browser: TestClient, times: int = 5, login: str = "zhangsan") -> list[int]:
    return [_try(browser, f"wrong {i}", login).status_code for i in range(times)]


def _signs_in(browser: TestClient, login: str = "zhangsan") -> bool:
    response = _try(browser, oidc.PASSWORD, login)
    if response.status_code == 429:
        assert "尝试次数过多" in response.text
        assert int(response.headers["retry-after"]) > 0
        return False
    return location(response).startswith(oidc.REDIRECT)


def test_the_device_cookie_is_long_lived_http_only_and_same_site(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, first_party=True)
    response = oidc.submit_login(client, _page(client))
    header = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(DEVICE_COOKIE + "=")
    )
    attributes = header.lower()
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert f"max-age={365 * 86400}" in attributes
    assert "secure" not in attributes  # the test issuer is http; https issuers get Secure


def test_a_strangers_guesses_do_not_lock_out_the_persons_browser(person: TestClient) -> None:
    stranger = _browser(person)
    assert _guess(stranger) == [400, 400, 400, 400, 429]
    assert not _signs_in(stranger)  # even the right password: strangers are locked out
    assert not _signs_in(_browser(person))  # every browser without a device cookie
    assert _signs_in(person)  # the person's browser is not
    person.cookies.delete(SSO_COOKIE)
    assert _signs_in(person)  # with the fresh device cookie it got the last time


def test_a_device_cookie_that_fails_too_often_is_locked_itself(person: TestClient) -> None:
    assert _guess(person) == [400, 400, 400, 400, 429]
    assert not _signs_in(person)  # this device is on the lockout list
    assert _signs_in(_browser(person))  # the account's untrusted sources are not locked


def test_forged_and_other_accounts_device_cookies_give_no_benefit(person: TestClient) -> None:
    lisi = _browser(person)
    assert _signs_in(lisi, "lisi")
    lisis_cookie = lisi.cookies[DEVICE_COOKIE]
    zhangsans_cookie = person.cookies[DEVICE_COOKIE]
    nonce, mac = zhangsans_cookie.split(".")
    tampered = f"{nonce}.{'A' if mac[0] != 'A' else 'B'}{mac[1:]}"
    forged = f"{'x' * 22}.{'y' * 22}"
    # Guesses with lisi's (valid, but other account's) cookie count as untrusted sources...
    assert _guess(_browser(person, lisis_cookie), times=2) == [400, 400]
    assert _guess(_browser(person, tampered), times=2) == [400, 400]
    assert _guess(_browser(person, forged), times=1) == [429]
    # ... so all of them are now locked out, whatever cookie they carry,
    for cookie in (lisis_cookie, tampered, forged, None):
        assert not _signs_in(_browser(person, cookie)), cookie
    # while the person's browser and lisi's own account are not.
    assert _signs_in(person)
    lisi.cookies.delete(SSO_COOKIE)
    assert _signs_in(lisi, "lisi")


def test_one_browser_keeps_device_cookies_for_several_accounts(person: TestClient) -> None:
    shared = _browser(person)
    assert _signs_in(shared, "lisi")
    shared.cookies.delete(SSO_COOKIE)
    assert _signs_in(shared)  # zhangsan on the family computer
    shared.cookies.delete(SSO_COOKIE)
    assert _guess(_browser(person), login="lisi") == [400, 400, 400, 400, 429]
    assert _guess(_browser(person)) == [400, 400, 400, 400, 429]
    assert _signs_in(shared, "lisi")  # both accounts still recognise this browser
    shared.cookies.delete(SSO_COOKIE)
    assert _signs_in(shared)


def test_a_new_password_makes_every_device_cookie_worthless(person: TestClient) -> None:
    from idp import accounts

    domain = oidc.domain_of(person)
    with domain.keys.database.transaction() as session:
        accounts.set_password(
            session, events=domain.audit, login="zhangsan", password=oidc.PASSWORD + "!", actor="t"
        )
    stranger = _browser(person)
    assert _guess(stranger) == [400, 400, 400, 400, 429]
    # Even with the new password, the old device cookie counts as a stranger's browser now.
    assert _try(person, oidc.PASSWORD + "!").status_code == 429
