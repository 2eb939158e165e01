"""SMS codes over HTTP in both storage configurations: single use, expiry, the wrong-code
limit, sending limits per number and per address, no account enumeration, sign-in by code,
the code as a step-up method; the HTTP gateway against a real local server; the settings;
the development outbox."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from core.settings import SettingsError, load_settings
from idp import assurance, sms_codes
from idp.sms import HttpSmsGateway, SmsUnavailable, mask_phone
from tests import oidc, sms_provider
from tests.conftest import strong_secret
from tests.idp import sms_world
from tests.idp.sms_world import (
    OTHER_PHONE,
    PHONE,
    add_phone_person,
    audit_leaves,
    audit_types,
    form,
    idp_of,
)
from tests.oidc import location, query

LOA = assurance.acr
sms, make_app, app = sms_world.sms, sms_world.make_app, sms_world.app  # the fixtures
BROWSER = "b" * 22


# --- codes --------------------------------------------------------------------------------


def test_a_code_is_single_use_and_bound_to_number_purpose_and_browser(app: TestClient) -> None:
    idp = idp_of(app)
    issued = sms_codes.issue(idp, phone=PHONE, purpose="login", browser=BROWSER, address="a")
    assert isinstance(issued, sms_codes.Issued) and len(issued.code) == 6
    for phone, purpose, browser_id in (
        (OTHER_PHONE, "login", BROWSER),
        (PHONE, "reset", BROWSER),
        (PHONE, "login", "c" * 22),
    ):
        assert not sms_codes.check(
            idp, phone=phone, purpose=purpose, browser=browser_id, code=issued.code
        )
    assert sms_codes.check(idp, phone=PHONE, purpose="login", browser=BROWSER, code=issued.code)
    assert not sms_codes.check(idp, phone=PHONE, purpose="login", browser=BROWSER, code=issued.code)


def test_a_code_expires(make_app: Callable[..., TestClient]) -> None:
    idp = idp_of(make_app(sms_code_ttl_seconds=1))
    issued = sms_codes.issue(idp, phone=PHONE, purpose="login", browser=BROWSER, address="a")
    assert isinstance(issued, sms_codes.Issued)
    time.sleep(1.2)
    assert not sms_codes.check(idp, phone=PHONE, purpose="login", browser=BROWSER, code=issued.code)


def test_five_wrong_answers_kill_the_code(app: TestClient) -> None:
    idp = idp_of(app)
    issued = sms_codes.issue(idp, phone=PHONE, purpose="login", browser=BROWSER, address="a")
    assert isinstance(issued, sms_codes.Issued)
    wrong = f"{(int(issued.code) + 1) % 10**6:06d}"
    for _ in range(sms_codes.WRONG_TRIES):
        assert not sms_codes.check(idp, phone=PHONE, purpose="login", browser=BROWSER, code=wrong)
    assert not sms_codes.check(idp, phone=PHONE, purpose="login", browser=BROWSER, code=issued.code)


def test_sending_is_limited_per_number(make_app: Callable[..., TestClient]) -> None:
    # A 2 s interval: the refused second send must come inside it even on a loaded machine.
    idp = idp_of(make_app(sms_send_interval_seconds=2, sms_sends_per_phone_day=2))

    def send(phone: str = PHONE) -> sms_codes.Issued | sms_codes.Refused:
        return sms_codes.issue(idp, phone=phone, purpose="login", browser=BROWSER, address="a")

    assert isinstance(send(), sms_codes.Issued)
    too_soon = send()
    assert isinstance(too_soon, sms_codes.Refused)
    assert too_soon.scope == "phone" and 1 <= too_soon.retry_after <= 2
    assert isinstance(send(OTHER_PHONE), sms_codes.Issued)  # another number is not held up
    time.sleep(2.05)
    assert isinstance(send(), sms_codes.Issued)
    time.sleep(2.05)
    daily = send()
    assert isinstance(daily, sms_codes.Refused)
    assert daily.scope == "phone" and daily.retry_after > 80000


def test_sending_is_limited_per_address_with_429_and_retry_after(
    make_app: Callable[..., TestClient], sms: sms_provider.Provider
) -> None:
    client = make_app(sms_sends_per_address_hour=2)
    oidc.add_rp(oidc.domain_of(client), first_party=True)
    page = _login_page(client)
    fields = form(page, "/login/sms/send")
    for number in ("13800000001", "13800000002"):
        sent = client.post("/login/sms/send", data={**fields, "phone": number})
        assert sent.status_code == 200
    refused = client.post("/login/sms/send", data={**fields, "phone": "13800000003"})
    assert refused.status_code == 429
    assert 3500 <= int(refused.headers["retry-after"]) <= 3600
    assert refused.headers["retry-after"] in refused.text
    assert "sms.code_refused" in audit_types(client)


# --- sign-in by code -----------------------------------------------------------------------


def _login_page(client: TestClient, request: oidc.Request | None = None) -> str:
    response = client.get((request or oidc.Request()).url(), follow_redirects=False)
    page = client.get(location(response))
    assert page.status_code == 200
    return page.text


def _claims(client: TestClient, request: oidc.Request, final: str) -> dict:
    tokens = oidc.redeem(client, request, query(final)["code"])
    assert tokens.status_code == 200, tokens.text
    return oidc.jwt_claims(tokens.json()["id_token"])


def test_sign_in_by_sms_code(app: TestClient, sms: sms_provider.Provider) -> None:
    user_id = add_phone_person(oidc.domain_of(app))
    request = oidc.Request()
    page = _login_page(app, request)
    sent = app.post("/login/sms/send", data={**form(page, "/login/sms/send"), "phone": PHONE})
    assert sent.status_code == 200
    assert mask_phone(PHONE) in sent.text and PHONE not in sent.text.replace(f'"{PHONE}"', "")
    code = sms.code(PHONE)
    assert sms.authorizations == [f"Bearer {sms_provider.TOKEN}"]
    fields = form(sent.text, "/login/sms")
    wrong = app.post("/login/sms", data={**fields, "code": "000000" if code != "000000" else "1"})
    assert wrong.status_code == 400 and 'role="alert"' in wrong.text
    response = app.post("/login/sms", data={**fields, "code": code}, follow_redirects=False)
    claims = _claims(app, request, oidc.follow_to_rp(app, response))
    assert claims["sub"] and claims["amr"] == ["sms"] and claims["acr"] == LOA(2)
    # Single use: the same code does not sign in again.
    again = app.post("/login/sms", data={**fields, "code": code}, follow_redirects=False)
    assert again.status_code in (400, 302, 303)
    types = audit_types(app)
    assert {"sms.code_sent", "sms.code_used", "sms.code_failed", "login.succeeded"} <= set(types)
    assert code.encode() not in audit_leaves(app)  # no code in the log
    assert PHONE.encode() not in audit_leaves(app)  # numbers only masked
    del user_id


def test_the_answer_does_not_tell_whether_a_number_has_an_account(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    add_phone_person(oidc.domain_of(app))
    add_phone_person(oidc.domain_of(app), "wangwu", phone="13700137000", verified=False)
    page = _login_page(app)
    fields = form(page, "/login/sms/send")

    def answer(phone: str) -> tuple[int, str, float]:
        started = time.perf_counter()
        response = app.post("/login/sms/send", data={**fields, "phone": phone})
        spent = time.perf_counter() - started
        text = response.text.replace(phone, "NUMBER").replace(mask_phone(phone), "MASKED")
        return response.status_code, text, spent

    known, unknown, unverified = answer(PHONE), answer("13600136000"), answer("13700137000")
    assert known[:2] == unknown[:2] == unverified[:2]
    assert [m["to"] for m in sms.received] == [PHONE]  # only the verified number got a code
    # A code "for" a number without an account signs nobody in.
    fields = form(
        app.post("/login/sms/send", data={**fields, "phone": "13600136001"}).text, "/login/sms"
    )
    for guess in ("000000", "123456"):
        assert app.post("/login/sms", data={**fields, "code": guess}).status_code == 400


# --- step-up -------------------------------------------------------------------------------


def test_sms_code_as_the_step_up_factor(app: TestClient, sms: sms_provider.Provider) -> None:
    add_phone_person(oidc.domain_of(app), proofing_level=4)
    first = oidc.Request()
    oidc.sign_in(app, first, login="lisi")
    higher = oidc.Request(extra={"acr_values": LOA(3)})
    response = app.get(higher.url(), follow_redirects=False)
    assert location(response).startswith("/login/factor?")
    page = app.get(location(response))
    assert 'action="/login/factor/sms/send"' in page.text
    sent = app.post("/login/factor/sms/send", data=form(page.text, "/login/factor/sms/send"))
    assert sent.status_code == 200 and mask_phone(PHONE) in sent.text
    fields = form(sent.text, "/login/factor/sms")
    bad = app.post("/login/factor/sms", data={**fields, "code": "99999x"})
    assert bad.status_code == 400
    response = app.post(
        "/login/factor/sms", data={**fields, "code": sms.code(PHONE)}, follow_redirects=False
    )
    claims = _claims(app, higher, oidc.follow_to_rp(app, response))
    assert claims["acr"] == LOA(3)
    assert claims["amr"] == ["pwd", "sms", "mfa"]
    assert "login.step_up" in audit_types(app)


def test_no_sms_step_up_without_a_verified_phone(app: TestClient) -> None:
    add_phone_person(oidc.domain_of(app), verified=False, proofing_level=4)
    oidc.sign_in(app, oidc.Request(), login="lisi")
    higher = oidc.Request(extra={"acr_values": LOA(3)})
    answer = query(location(app.get(higher.url(), follow_redirects=False)))
    assert answer["error"] == "unmet_authentication_requirements"


# --- the gateway, the settings, the outbox -------------------------------------------------


def test_http_gateway_posts_json_with_a_bearer_token(
    sms: sms_provider.Provider, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = HttpSmsGateway(url=sms.url, token=sms_provider.TOKEN, sender="通行")
    with caplog.at_level(logging.DEBUG):
        gateway.send(PHONE, "验证码 424242")
    assert sms.received == [{"to": PHONE, "text": "验证码 424242", "sender": "通行"}]
    assert sms.authorizations == [f"Bearer {sms_provider.TOKEN}"]
    sms.status = 503
    with caplog.at_level(logging.DEBUG), pytest.raises(SmsUnavailable, match="503"):
        gateway.send(PHONE, "验证码 434343")
    closed = HttpSmsGateway(url="http://127.0.0.1:9/sms", token="t", sender="s", timeout=1)
    with pytest.raises(SmsUnavailable):
        closed.send(PHONE, "验证码 444444")
    logged = caplog.text
    assert "424242" not in logged and "434343" not in logged and PHONE not in logged
    assert sms_provider.TOKEN not in logged


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"sms_gateway": "development"}, "demo mode only"),
        ({"sms_gateway": "http"}, "TONGXING_SMS_HTTP_URL"),
        (
            {"sms_gateway": "http", "sms_http_url": "http://sms.example/x", "sms_http_token": "t"},
            "https",
        ),
    ],
)
def test_settings_refuse_unsafe_sms_configurations(values: dict, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        load_settings({}, mode="production", key_encryption_key=strong_secret(), **values)


def test_http_gateway_outside_loopback_needs_https() -> None:
    settings = load_settings(
        {},
        mode="production",
        key_encryption_key=strong_secret(),
        sms_gateway="http",
        sms_http_url="https://sms.example/send",
        sms_http_token="provider-token",
    )
    assert settings.sms_http_token is not None
    assert "provider-token" not in repr(settings)


def test_production_without_a_gateway_offers_no_sms(
    make_settings: Callable[..., object],
) -> None:
    from tongxing import create_app

    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as client:
        oidc.add_rp(oidc.domain_of(client), first_party=True)
        page = _login_page(client)
        assert "/login/sms/send" not in page and "/register" not in page
        assert client.get("/demo/sms").status_code == 404
        assert client.get("/register").status_code == 404


def test_demo_outbox_lists_messages_newest_first(make_settings: Callable[..., object]) -> None:
    from tongxing import create_app

    with TestClient(create_app(make_settings(mode="demo")), raise_server_exceptions=False) as c:
        gateway = idp_of(c).sms
        assert gateway is not None
        gateway.send(PHONE, "验证码 111111")
        gateway.send(OTHER_PHONE, "验证码 222222")
        for lang in ("zh-CN", "en"):
            page = c.get("/demo/sms", headers={"accept-language": lang})
            assert page.status_code == 200
            assert page.headers["content-language"] == lang
            assert page.text.index("222222") < page.text.index("111111")
            assert PHONE in page.text  # demo data: full numbers
