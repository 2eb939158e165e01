"""A person's own account over HTTP, both storage configurations: registration by phone then
sign-in, password reset through confirmed factors (every session ends, the old password is
refused), password change on the account page, a new verified phone number."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from idp import assurance, recovery_codes, repository
from idp.models import User
from tests import factors, oidc, sms_provider
from tests.idp import sms_world
from tests.idp.sms_world import (
    OTHER_PHONE,
    PHONE,
    add_phone_person,
    audit_types,
    browser,
    form,
    idp_of,
)
from tests.oidc import location, query

LOA = assurance.acr
sms, make_app, app = sms_world.sms, sms_world.make_app, sms_world.app  # the fixtures
NEW_PASSWORD = "a brand new passphrase"


def _login_page(client: TestClient, request: oidc.Request) -> str:
    response = client.get(request.url(), follow_redirects=False)
    page = client.get(location(response))
    assert page.status_code == 200
    return page.text


def _user(client: TestClient, login: str) -> User:
    with oidc.domain_of(client).keys.database.reading() as session:
        user = repository.user_by_login(session, login)
        assert user is not None
        return user


# --- registration ------------------------------------------------------------------------


def test_register_by_phone_then_continue_to_the_app_and_sign_in_again(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    request = oidc.Request()
    page = _login_page(app, request)
    interaction = oidc.hidden(page, "interaction")
    assert f'href="/register?interaction={interaction}"' in page
    start = app.get(f"/register?interaction={interaction}")
    assert start.status_code == 200
    sent = app.post("/register/send", data={**form(start.text, "/register/send"), "phone": PHONE})
    assert sent.status_code == 200
    fields = form(sent.text, "/register")
    # A weak password is refused before the code is spent.
    weak = app.post(
        "/register", data={**fields, "code": sms.code(PHONE), "name": "赵六", "password": "short"}
    )
    assert weak.status_code == 400 and 'role="alert"' in weak.text
    wrong = app.post(
        "/register",
        data={**fields, "code": "000000", "name": "赵六", "password": NEW_PASSWORD},
    )
    assert wrong.status_code == 400 or sms.code(PHONE) == "000000"
    response = app.post(
        "/register",
        data={**fields, "code": sms.code(PHONE), "name": "赵六", "password": NEW_PASSWORD},
        follow_redirects=False,
    )
    tokens = oidc.redeem(app, request, query(oidc.follow_to_rp(app, response))["code"])
    claims = oidc.jwt_claims(tokens.json()["id_token"])
    assert claims["amr"] == ["sms"]
    assert claims["acr"] == LOA(1)  # self-declared until the real-name check
    user = _user(app, PHONE)
    assert user.phone_verified and user.proofing_level == 1 and user.display_name == "赵六"
    assert user.username.startswith("u") and len(user.username) == 11
    assert "user.registered" in audit_types(app)
    # Later, in another browser, the new password signs in.
    other = browser(app)
    oidc.sign_in(other, oidc.Request(), login=PHONE, password=NEW_PASSWORD)


def test_a_registered_number_gets_a_reminder_not_a_code(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    add_phone_person(oidc.domain_of(app))
    start = app.get("/register")
    sent = app.post("/register/send", data={**form(start.text, "/register/send"), "phone": PHONE})
    fresh = app.post(
        "/register/send", data={**form(start.text, "/register/send"), "phone": OTHER_PHONE}
    )
    assert sent.status_code == fresh.status_code == 200
    assert sent.text.replace(PHONE, "N").replace("138****8000", "M") == fresh.text.replace(
        OTHER_PHONE, "N"
    ).replace("139****9000", "M")
    (reminder,) = sms.to(PHONE)
    assert not any(ch.isdigit() for ch in reminder.split("】")[-1])  # no code in it
    fields = form(sent.text, "/register")
    for guess in ("000000", "111111"):
        refused = app.post(
            "/register", data={**fields, "code": guess, "name": "x", "password": NEW_PASSWORD}
        )
        assert refused.status_code == 400


def test_registration_with_a_chosen_username_lands_on_the_account_page(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    start = app.get("/register", headers={"accept-language": "en"})
    assert start.status_code == 200 and start.headers["content-language"] == "en"
    sent = app.post("/register/send", data={**form(start.text, "/register/send"), "phone": PHONE})
    done = app.post(
        "/register",
        data={
            **form(sent.text, "/register"),
            "code": sms.code(PHONE),
            "name": "Zhao Liu",
            "username": "zhaoliu",
            "password": NEW_PASSWORD,
        },
        follow_redirects=False,
    )
    assert location(done) == "/account"
    account = app.get("/account")
    assert account.status_code == 200 and "zhaoliu" in account.text


def test_a_bad_number_or_a_sending_limit_shows_the_number_form_again(
    make_app: Callable[..., TestClient], sms: sms_provider.Provider
) -> None:
    """Registration and reset share the send step: 400 for what is not a number, 429 with
    Retry-After (and the number kept) when the per-number interval refuses a second code."""
    client = make_app(sms_send_interval_seconds=60)
    for path in ("/register", "/reset"):
        fields = form(client.get(path).text, f"{path}/send")
        bad = client.post(f"{path}/send", data={**fields, "phone": "12ab"})
        assert bad.status_code == 400 and 'role="alert"' in bad.text
        assert 'value="12ab"' in bad.text
    fields = form(client.get("/register").text, "/register/send")
    assert client.post("/register/send", data={**fields, "phone": PHONE}).status_code == 200
    for path in ("/register", "/reset"):
        fields = form(client.get(path).text, f"{path}/send")
        refused = client.post(f"{path}/send", data={**fields, "phone": f" {PHONE} "})
        assert refused.status_code == 429 and 50 <= int(refused.headers["retry-after"]) <= 60
        assert f'value="{PHONE}"' in refused.text and 'role="alert"' in refused.text
    assert len(sms.to(PHONE)) == 1


# --- reset -------------------------------------------------------------------------------


def _reset(client: TestClient, sms: sms_provider.Provider, phone: str = PHONE) -> str:
    """Walk /reset up to the new-password page; returns it."""
    start = client.get("/reset")
    assert start.status_code == 200
    sent = client.post("/reset/send", data={**form(start.text, "/reset/send"), "phone": phone})
    assert sent.status_code == 200
    proved = client.post(
        "/reset/code", data={**form(sent.text, "/reset/code"), "code": sms.code(phone)}
    )
    assert proved.status_code == 200, proved.text
    return proved.text


def test_reset_ends_every_session_and_the_old_password_stops_working(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    user_id = add_phone_person(oidc.domain_of(app))
    oidc.sign_in(app, oidc.Request(), login="lisi")  # a session in the first browser
    assert idp_of(app).sessions.of_user(user_id)
    other = browser(app)
    page = _reset(other, sms)
    assert 'name="totp_code"' not in page  # no second factor enrolled
    weak = other.post("/reset", data={**form(page, "/reset"), "password": "1234567890"})
    assert weak.status_code == 400
    done = other.post("/reset", data={**form(page, "/reset"), "password": NEW_PASSWORD})
    assert done.status_code == 200
    assert idp_of(app).sessions.of_user(user_id) == []
    assert app.get("/account").status_code == 401
    # The ticket is spent.
    again = other.post("/reset", data={**form(page, "/reset"), "password": NEW_PASSWORD + "x"})
    assert again.status_code == 400
    third = browser(app)
    refused = oidc.submit_login(
        third, _login_page(third, oidc.Request()), login="lisi", password=oidc.PASSWORD
    )
    assert refused.status_code == 400
    oidc.sign_in(third, oidc.Request(), login="lisi", password=NEW_PASSWORD)
    assert "password.reset" in audit_types(app)


def test_reset_asks_for_the_second_factor_too(app: TestClient, sms: sms_provider.Provider) -> None:
    user_id = add_phone_person(oidc.domain_of(app), second_factor=True)
    page = _reset(app, sms)
    assert 'name="totp_code"' in page
    assert 'name="recovery_code"' not in page  # no recovery codes to offer
    without = app.post("/reset", data={**form(page, "/reset"), "password": NEW_PASSWORD})
    assert without.status_code == 400
    done = app.post(
        "/reset",
        data={
            **form(page, "/reset"),
            "password": NEW_PASSWORD,
            "totp_code": factors.next_code(user_id),
        },
    )
    assert done.status_code == 200
    oidc.sign_in(browser(app), oidc.Request(), login="lisi", password=NEW_PASSWORD)


def _with_recovery_codes(client: TestClient) -> tuple[str, list[str]]:
    """A person with a phone, an authenticator app and recovery codes: (id, the codes)."""
    domain = oidc.domain_of(client)
    user_id = add_phone_person(domain, second_factor=True)
    with domain.keys.database.transaction() as session:
        codes = recovery_codes.generate(
            session, data_keys=domain.data_keys, events=domain.audit, user_id=user_id, actor="t"
        )
    return user_id, codes


def test_a_recovery_code_stands_in_for_a_lost_authenticator_once(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    domain = oidc.domain_of(app)
    user_id, codes = _with_recovery_codes(app)
    page = _reset(app, sms)
    assert 'name="totp_code"' in page and 'name="recovery_code"' in page
    fields = {**form(page, "/reset"), "password": NEW_PASSWORD}
    wrong = app.post("/reset", data={**fields, "recovery_code": "AAAAA-AAAAA"})
    assert wrong.status_code == 400 and 'name="recovery_code"' in wrong.text
    done = app.post("/reset", data={**fields, "recovery_code": codes[0].lower()})
    assert done.status_code == 200, done.text
    oidc.sign_in(browser(app), oidc.Request(), login="lisi", password=NEW_PASSWORD)
    with domain.keys.database.transaction() as session:
        assert recovery_codes.remaining(session, user_id) == recovery_codes.COUNT - 1
        assert not recovery_codes.use(  # spent: single use, like at sign-in
            session, data_keys=domain.data_keys, user_id=user_id, code=codes[0]
        )
        entries = [
            json.loads(e.leaf)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.index))
        ]
    failed = [e["details"] for e in entries if e["type"] == "login.factor_failed"]
    assert failed == [failed[0]] and failed[0]["method"] == "recovery"
    assert failed[0]["for"] == "password-reset"
    used = [e for e in entries if e["type"] == "recovery_code.used"]
    assert len(used) == 1 and used[0]["details"]["remaining"] == recovery_codes.COUNT - 1
    assert "password.reset" in [e["type"] for e in entries]


def test_the_recovery_code_attempts_of_a_reset_are_limited(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    client, domain = app, oidc.domain_of(app)
    user_id, codes = _with_recovery_codes(app)
    page = _reset(client, sms)
    fields = {**form(page, "/reset"), "password": NEW_PASSWORD}
    statuses = [
        client.post("/reset", data={**fields, "recovery_code": f"AAAAA-AAAA{c}"}).status_code
        for c in "ABCDEFGHIJKL"
    ]
    assert statuses[0] == 400 and statuses[-1] == 429
    locked = client.post("/reset", data={**fields, "recovery_code": codes[0]})
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert 'name="recovery_code"' in locked.text
    with domain.keys.database.reading() as session:  # refused before it was checked
        assert recovery_codes.remaining(session, user_id) == recovery_codes.COUNT


def test_reset_page_does_not_tell_whether_a_number_has_an_account(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    add_phone_person(oidc.domain_of(app))
    start = app.get("/reset")
    known = app.post("/reset/send", data={**form(start.text, "/reset/send"), "phone": PHONE})
    unknown = app.post(
        "/reset/send", data={**form(start.text, "/reset/send"), "phone": OTHER_PHONE}
    )
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace(PHONE, "N").replace("138****8000", "M") == unknown.text.replace(
        OTHER_PHONE, "N"
    ).replace("139****9000", "M")
    assert [m["to"] for m in sms.received] == [PHONE]


# --- on the account page -------------------------------------------------------------------


def test_change_password_needs_the_current_one_and_ends_other_sessions(
    app: TestClient,
) -> None:
    # No verified phone, no second factor: a fresh password sign-in is strong enough.
    user_id = add_phone_person(oidc.domain_of(app), verified=False)
    other = browser(app)
    oidc.sign_in(other, oidc.Request(), login="lisi")
    oidc.sign_in(app, oidc.Request(), login="lisi")
    account = app.get("/account")
    fields = form(account.text, "/account/password")
    wrong = app.post("/account/password", data={**fields, "current": "nope", "password": "x"})
    assert wrong.status_code == 400
    weak = app.post(
        "/account/password", data={**fields, "current": oidc.PASSWORD, "password": "short"}
    )
    assert weak.status_code == 400
    done = app.post(
        "/account/password",
        data={**fields, "current": oidc.PASSWORD, "password": NEW_PASSWORD},
    )
    assert done.status_code == 200
    assert len(idp_of(app).sessions.of_user(user_id)) == 1  # this one
    assert app.get("/account").status_code == 200
    assert other.get("/account").status_code == 401
    assert {"password.changed", "login.factor_failed"} <= set(audit_types(app))


def test_change_needs_a_recent_strong_sign_in_which_a_sms_code_completes(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    # A verified phone is a second factor: a password-only session is not strong enough.
    add_phone_person(oidc.domain_of(app))
    oidc.sign_in(app, oidc.Request(), login="lisi")
    account = app.get("/account")
    assert 'action="/account/password"' not in account.text
    assert "/account/verify?return_to=/account" in account.text
    check = app.get("/account/verify?return_to=/account", follow_redirects=False)
    page = app.get(location(check))
    assert 'action="/login/factor/sms/send"' in page.text
    sent = app.post("/login/factor/sms/send", data=form(page.text, "/login/factor/sms/send"))
    back = app.post(
        "/login/factor/sms",
        data={**form(sent.text, "/login/factor/sms"), "code": sms.code(PHONE)},
        follow_redirects=False,
    )
    assert location(back) == "/account"
    account = app.get("/account")
    done = app.post(
        "/account/password",
        data={
            **form(account.text, "/account/password"),
            "current": oidc.PASSWORD,
            "password": NEW_PASSWORD,
        },
    )
    assert done.status_code == 200


def test_a_new_phone_number_needs_a_code_sent_to_it(
    app: TestClient, sms: sms_provider.Provider
) -> None:
    add_phone_person(oidc.domain_of(app), verified=False)
    oidc.sign_in(app, oidc.Request(), login="lisi")
    account = app.get("/account")
    assert "138****8000" in account.text
    sent = app.post(
        "/account/phone/send",
        data={**form(account.text, "/account/phone/send"), "phone": OTHER_PHONE},
    )
    assert sent.status_code == 200 and "139****9000" in sent.text
    fields = form(sent.text, "/account/phone")
    code = sms.code(OTHER_PHONE)
    wrong = app.post("/account/phone", data={**fields, "code": "x"})
    assert wrong.status_code == 400
    assert app.post("/account/phone", data={**fields, "code": code}).status_code == 200
    user = _user(app, "lisi")
    assert user.phone == OTHER_PHONE and user.phone_verified
    assert "user.phone_verified" in audit_types(app)
    with oidc.domain_of(app).keys.database.reading() as session:
        assert session.scalar(select(User.phone).where(User.username == "lisi")) == OTHER_PHONE
