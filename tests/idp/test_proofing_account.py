"""Identity proofing on the account page over HTTP (demo mode: the development registry and
liveness tokens): L1 → L2 (real name) → L3 (face), the acr a step-up then reaches, and the
refusals — a number of another account, a bad number, too many attempts, an old sign-in,
a form without its token. Every attempt is audited with the number masked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp.proofing import DevelopmentRealNameRegistry
from idp.runtime import IdentityProvider
from idp.sessions import COOKIE as SSO_COOKIE
from tests import factors, oidc
from tests.admin.console import csrf
from tongxing import create_app

NUMBER = "350102200001012463"  # 周九 in the demo registry
OTHER = "350102198511224562"  # 李四 in the demo registry
ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def app(make_settings: Callable[..., Any]) -> Iterator[TestClient]:
    settings = make_settings(mode="demo", proofing_attempts_per_person=4)
    with TestClient(create_app(settings), base_url=ISSUER) as client:
        domain = oidc.domain_of(client)
        oidc.add_rp(domain, "permits", first_party=True)
        yield client


def _idp(client: TestClient) -> IdentityProvider:
    found: IdentityProvider = runtime_of(client.app).get(IdentityProvider)  # type: ignore[arg-type]
    return found


def _browser(client: TestClient, login: str) -> TestClient:
    browser = TestClient(client.app, base_url=ISSUER)
    oidc.sign_in(browser, oidc.Request(), login=login)
    return browser


def _checks(client: TestClient, user_id: str) -> list[dict[str, Any]]:
    with oidc.domain_of(client).keys.database.reading() as session:
        query = (
            select(AuditEntry)
            .where(AuditEntry.type == "proofing.checked", AuditEntry.subject == user_id)
            .order_by(AuditEntry.index)
        )
        return [json.loads(bytes(e.leaf))["details"] for e in session.scalars(query)]


def _confirm_it_is_me(browser: TestClient, user_id: str) -> None:
    """/account/verify: the second factor now (the person has TOTP), then back."""
    started = browser.get("/account/verify?return_to=/account", follow_redirects=False)
    page = browser.get(oidc.location(started))
    assert page.status_code == 200 and 'action="/login/factor/totp"' in page.text
    done = browser.post(
        "/login/factor/totp",
        data={
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "code": factors.next_code(user_id),
        },
        follow_redirects=False,
    )
    assert oidc.location(done) == "/account"


def _real_name(browser: TestClient, name: str, number: str) -> httpx.Response:
    page = browser.get("/account").text
    return browser.post(
        "/account/proofing/real-name",
        data={
            "csrf_token": csrf(page, "/account/proofing/real-name"),
            "name": name,
            "national_id": number,
        },
        follow_redirects=False,
    )


def _result(response: httpx.Response) -> str:
    target = oidc.location(response)
    assert target.startswith("/account?proofing="), target
    return oidc.query(target)["proofing"]


def _acr_request(browser: TestClient, acr: str) -> dict[str, str]:
    request = oidc.Request(extra={"acr_values": acr})
    response = browser.get(request.url(), follow_redirects=False)
    if oidc.location(response).startswith("/login?"):
        page = browser.get(oidc.location(response))
        response = oidc.submit_login(browser, page.text, login="zhoujiu")
    return oidc.query(oidc.follow_to_rp(browser, response))


def test_a_person_raises_their_level_from_1_to_3_on_the_account_page(app: TestClient) -> None:
    domain = oidc.domain_of(app)
    user_id = oidc.add_person(domain, "zhoujiu", name="周九", proofing_level=1, second_factor=True)
    browser = _browser(app, "zhoujiu")
    page = browser.get("/account", headers={"accept-language": "zh-CN"}).text
    assert "L1 自报身份" in page
    # Signed in with the password only, but the person has a second factor: confirm first.
    assert 'id="proofing-verify"' in page and "/account/proofing/real-name" not in page
    refused = browser.post(
        "/account/proofing/real-name",
        data={"csrf_token": "x", "name": "周九", "national_id": NUMBER},
        follow_redirects=False,
    )
    assert oidc.location(refused) == "/account"
    _confirm_it_is_me(browser, user_id)

    assert _result(_real_name(browser, "周十", NUMBER)) == "mismatch"
    shown = browser.get("/account?proofing=mismatch", headers={"accept-language": "en"}).text
    assert "do not match" in shown and "L1 self-declared" in shown
    assert _result(_real_name(browser, "周九", NUMBER)) == "confirmed"
    page = browser.get("/account", headers={"accept-language": "en"}).text
    assert "L2 name and identity number confirmed" in page
    assert "350***********2463" in page and NUMBER not in page
    assert 'id="proofing-face-start"' in page and "/account/proofing/real-name" not in page

    # Level 3 is out of reach while the name is only confirmed by the authority.
    fresh = TestClient(app.app, base_url=ISSUER)
    unmet = _acr_request(fresh, "urn:tongxing:loa:3")
    assert unmet["error"] == "unmet_authentication_requirements"

    face_page = browser.get("/account/proofing/face", headers={"accept-language": "en"})
    assert face_page.status_code == 200 and "stands in for a face-recognition SDK" in face_page.text
    token = oidc.hidden(face_page.text, "liveness_token")
    posted = browser.post(
        "/account/proofing/face",
        data={"csrf_token": oidc.hidden(face_page.text, "csrf_token"), "liveness_token": token},
        follow_redirects=False,
    )
    assert _result(posted) == "confirmed"
    replayed = browser.post(
        "/account/proofing/face",
        data={"csrf_token": oidc.hidden(face_page.text, "csrf_token"), "liveness_token": token},
        follow_redirects=False,
    )
    assert _result(replayed) == "level"  # at level 3 already: nothing more to check here
    page = browser.get("/account", headers={"accept-language": "zh-CN"}).text
    assert "L3 已通过人脸核验" in page and "proofing-face-start" not in page

    # Now a step-up reaches level 3: the password, then the authenticator code.
    request = oidc.Request(extra={"acr_values": "urn:tongxing:loa:3"})
    another = TestClient(app.app, base_url=ISSUER)
    callback = oidc.sign_in(another, request, login="zhoujiu")
    answer = oidc.redeem(app, request, callback["code"])
    claims = oidc.jwt_claims(answer.json()["id_token"])
    assert claims["acr"] == "urn:tongxing:loa:3"
    assert {"pwd", "otp", "mfa"} <= set(claims["amr"])

    checks = _checks(app, user_id)
    assert [(c["check"], c["verdict"], c["level"]) for c in checks] == [
        ("real-name", "mismatch", 1),
        ("real-name", "confirmed", 2),
        ("face", "confirmed", 3),
        ("face", "level", 3),
    ]
    assert all(c["national_id"] in (None, "350***********2463") for c in checks)
    assert NUMBER not in json.dumps(checks, ensure_ascii=False)
    assert "周九" not in json.dumps(checks, ensure_ascii=False)


def test_refusals_are_audited_and_limited(app: TestClient) -> None:
    domain = oidc.domain_of(app)
    holder = oidc.add_person(domain, "lisi2", name="李四", proofing_level=1)
    user_id = oidc.add_person(domain, "zhoujiu", name="周九", proofing_level=1)
    idp = _idp(app)
    assert isinstance(idp.real_name, DevelopmentRealNameRegistry)
    idp.real_name.seed("周九", NUMBER)  # a test may seed its own pairs too
    first = _browser(app, "lisi2")
    assert _result(_real_name(first, "李四", OTHER)) == "confirmed"

    browser = _browser(app, "zhoujiu")  # password only, no second factor: fresh enough
    assert _result(_real_name(browser, "李四", OTHER)) == "taken"
    assert _result(_real_name(browser, "周九", "350102200001012464")) == "invalid"
    for _ in range(4):
        assert _result(_real_name(browser, "周十", NUMBER)) == "mismatch"
    limited = _real_name(browser, "周九", NUMBER)
    assert _result(limited) == "limited"
    assert "hours=" in oidc.location(limited)
    page = browser.get(oidc.location(limited), headers={"accept-language": "en"}).text
    assert "Too many checks" in page and "L1 self-declared" in page
    verdicts = [c["verdict"] for c in _checks(app, user_id)]
    assert verdicts == ["taken", "mismatch", "mismatch", "mismatch", "mismatch", "limited"]
    assert [c["verdict"] for c in _checks(app, holder)] == ["confirmed"]

    # A sign-in older than the recent-sign-in window is sent to confirm it is the person.
    token = csrf(browser.get("/account").text, "/account/proofing/real-name")
    handle = next(c.value for c in browser.cookies.jar if c.name == SSO_COOKIE)

    def age(session: Any) -> None:
        session.auth_time -= 3600

    idp.sessions.update(handle, age)
    page = browser.get("/account").text
    assert 'id="proofing-verify"' in page
    stale = browser.post(
        "/account/proofing/real-name",
        data={"csrf_token": token, "name": "周九", "national_id": NUMBER},
        follow_redirects=False,
    )
    assert oidc.location(stale) == "/account/verify?return_to=/account"
    assert len(_checks(app, user_id)) == 6  # nothing was tried
    assert browser.get("/account/proofing/face", follow_redirects=False).headers["location"] == (
        "/account/verify?return_to=/account"
    )
