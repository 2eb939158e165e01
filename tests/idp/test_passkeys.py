"""Passkeys over HTTP with a software authenticator written here (EC P-256, ``none``
attestation): registration on the account page, passwordless sign-in, step-up to level 4,
and what must be refused (a replayed or unknown challenge, another origin, a sign counter
going back, a passwordless sign-in without user verification); both storage
configurations, served at a host name (WebAuthn refuses IP addresses)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from core.settings import Settings
from idp import assurance
from idp.models import Authenticator
from idp.runtime import IdentityProvider
from tests import oidc
from tests.oidc import location, query
from tests.soft_authenticator import SoftAuthenticator, b64url
from tongxing import create_app

LOA = assurance.acr
ISSUER = "http://localhost:8000"


@pytest.fixture
def rp(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """The app at a host name, a first-party app, and a person proofed at level 4."""
    app = create_app(make_settings(issuer=ISSUER))
    with TestClient(app, raise_server_exceptions=False, base_url=ISSUER) as client:
        domain = oidc.domain_of(client)
        oidc.add_person(domain, "strong", proofing_level=4)
        oidc.add_person(domain, "other", proofing_level=4)
        oidc.add_rp(domain, first_party=True)
        yield client


def _types(client: TestClient) -> list[str]:
    with oidc.domain_of(client).keys.database.reading() as session:
        return [e.type for e in session.scalars(select(AuditEntry).order_by(AuditEntry.index))]


def _claims(client: TestClient, request: oidc.Request, final: str) -> dict[str, Any]:
    tokens = oidc.redeem(client, request, query(final)["code"])
    assert tokens.status_code == 200, tokens.text
    return oidc.jwt_claims(tokens.json()["id_token"])


def _register(client: TestClient, authenticator: SoftAuthenticator, name: str = "手机") -> None:
    """Sign in with the password (a fresh sign-in is recent enough without a second factor)
    and add a passkey on the account page."""
    oidc.sign_in(client, oidc.Request(), login="strong")
    page = client.get("/account")
    assert 'id="passkey-add"' in page.text and "/static/idp/passkeys.js" in page.text
    csrf = oidc.hidden(page.text, "csrf_token")
    options = client.post("/account/passkeys/options", json={"csrf_token": csrf})
    assert options.status_code == 200, options.text
    assert options.headers["content-type"].startswith("application/json")
    body = options.json()
    assert body["rp"]["id"] == "localhost"
    assert body["authenticatorSelection"]["residentKey"] == "required"
    credential = authenticator.create(body)
    done = client.post(
        "/account/passkeys", json={"csrf_token": csrf, "name": name, "credential": credential}
    )
    assert done.status_code == 200, done.text
    assert done.json() == {"redirect": "/account?passkey=added"}


def _data(html: str, name: str) -> str:
    """A data- attribute of the passkey button on a page."""
    found = re.search(rf'data-{name}="([^"]*)"', html)
    assert found, f"no data-{name}"
    return found.group(1)


def _login_page(client: TestClient, request: oidc.Request) -> dict[str, str]:
    response = client.get(request.url(), follow_redirects=False)
    assert location(response).startswith("/login?")
    page = client.get(location(response))
    assert 'id="passkey-sign-in"' in page.text
    return {
        "interaction": oidc.hidden(page.text, "interaction"),
        "csrf_token": oidc.hidden(page.text, "csrf_token"),
    }


def _passwordless(
    client: TestClient, authenticator: SoftAuthenticator, request: oidc.Request, **get: Any
) -> Any:
    form = _login_page(client, request)
    options = client.post("/login/passkey/options", json=form)
    assert options.status_code == 200, options.text
    assert options.json()["userVerification"] == "required"
    assert options.json().get("allowCredentials", []) == []
    credential = authenticator.get(options.json(), **get)
    return client.post("/login/passkey", json={**form, "credential": credential})


def test_register_then_sign_in_without_a_password(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    with oidc.domain_of(rp).keys.database.reading() as session:
        stored = session.scalars(select(Authenticator)).one()
        assert (stored.kind, stored.name) == ("passkey", "手机")
        assert stored.credential_id == authenticator.credentials[0].credential_id
        assert stored.backup_eligible and stored.backup_state
        assert stored.aaguid == "00112233-4455-6677-8899-aabbccddeeff"
        assert set(stored.transports) == {"internal", "hybrid"}
    assert "passkey.registered" in _types(rp)
    page = rp.get("/account?passkey=added")
    assert 'id="passkey-added"' in page.text

    rp.cookies.clear()  # another browser, nobody signed in
    request = oidc.Request()
    answer = _passwordless(rp, authenticator, request)
    assert answer.status_code == 200, answer.text
    final = answer.json()["redirect"]
    assert final.startswith(oidc.REDIRECT)
    claims = _claims(rp, request, final)
    # A passkey under user verification is two factors; the proofing level (4) is not the
    # limit, the sign-in is: level 3.
    assert claims["acr"] == LOA(3)
    assert claims["amr"] == ["hwk", "user", "mfa"]
    with oidc.domain_of(rp).keys.database.reading() as session:
        used = session.scalars(select(Authenticator)).one()
        assert used.sign_count == 1 and used.last_used_at is not None
    assert "login.succeeded" in _types(rp)


def test_step_up_from_a_password_to_level_4(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    rp.cookies.clear()
    request = oidc.Request(extra={"acr_values": LOA(4)})
    form = _login_page(rp, request)
    response = rp.post(
        "/login",
        data={**form, "login": "strong", "password": oidc.PASSWORD},
        follow_redirects=False,
    )
    assert location(response).startswith("/login/factor?")
    page = rp.get(location(response))
    assert 'id="passkey-step-up"' in page.text
    assert 'name="password"' not in page.text  # the password is not asked again
    factor = {
        "interaction": _data(page.text, "interaction"),
        "csrf_token": _data(page.text, "csrf"),
    }
    options = rp.post("/login/factor/passkey-uv/options", json=factor)
    assert options.status_code == 200, options.text
    body = options.json()
    assert body["userVerification"] == "required"  # level 4 asked
    assert [d["id"] for d in body["allowCredentials"]] == [
        b64url(authenticator.credentials[0].credential_id)
    ]
    answer = rp.post(
        "/login/factor/passkey-uv", json={**factor, "credential": authenticator.get(body)}
    )
    assert answer.status_code == 200, answer.text
    claims = _claims(rp, request, answer.json()["redirect"])
    assert claims["acr"] == LOA(4)
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]
    # One sign-in with both factors (the password waited for the passkey), not a step-up.
    assert "login.step_up" not in _types(rp)


def test_a_replayed_or_unknown_challenge_is_refused(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    rp.cookies.clear()
    request = oidc.Request()
    form = _login_page(rp, request)
    options = rp.post("/login/passkey/options", json=form).json()
    credential = authenticator.get(options)
    assert rp.post("/login/passkey", json={**form, "credential": credential}).status_code == 200
    # The same response again: its challenge was taken.
    rp.cookies.clear()
    form = _login_page(rp, oidc.Request())
    replay = rp.post("/login/passkey", json={**form, "credential": credential})
    assert replay.status_code == 400
    assert replay.headers["content-type"].startswith("application/problem+json")
    assert replay.json()["type"] == "urn:tongxing:problem:passkey-challenge"
    # A challenge we never issued (or one expired from the store) is the same.
    forged = authenticator.get({**options, "challenge": b64url(b"\x01" * 32)})
    refused = rp.post("/login/passkey", json={**form, "credential": forged})
    assert refused.json()["type"] == "urn:tongxing:problem:passkey-challenge"
    # A challenge lives five minutes in the shared store; once gone (what the TTL does),
    # the response that answers it is refused.
    idp = runtime_of(rp.app).get(IdentityProvider)
    fresh = rp.post("/login/passkey/options", json=form).json()
    key = idp.store.key("idp", "passkey-challenge", fresh["challenge"])
    assert 290 < (idp.store.ttl(key) or 0) <= 300
    idp.store.delete(key)
    expired = rp.post("/login/passkey", json={**form, "credential": authenticator.get(fresh)})
    assert expired.json()["type"] == "urn:tongxing:problem:passkey-challenge"
    # A challenge issued to another browser is useless in this one.
    other = TestClient(rp.app, base_url=ISSUER)
    other_form = _login_page(other, oidc.Request())
    theirs = other.post("/login/passkey/options", json=other_form).json()
    stolen = authenticator.get(theirs)
    refused = rp.post("/login/passkey", json={**form, "credential": stolen})
    assert refused.json()["type"] == "urn:tongxing:problem:passkey-challenge"
    # And without the page's CSRF token nothing is issued.
    bad = rp.post("/login/passkey/options", json={**form, "csrf_token": "x"})
    assert bad.status_code == 403


def test_another_origin_is_refused_and_audited(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    rp.cookies.clear()
    answer = _passwordless(rp, authenticator, oidc.Request(), origin="http://localhost.evil")
    assert answer.status_code == 400
    assert answer.json()["reason"] == "invalid"
    assert _types(rp)[-2:] == ["passkey.registered", "login.factor_failed"]
    # The right origin, but a user handle that is not the passkey owner's.
    form = _login_page(rp, oidc.Request())
    options = rp.post("/login/passkey/options", json=form).json()
    credential = authenticator.get(options)
    credential["response"]["userHandle"] = b64url(b"\x02" * 32)
    answer = rp.post("/login/passkey", json={**form, "credential": credential})
    assert answer.status_code == 400
    assert answer.json()["reason"] == "user-handle"


def test_a_counter_going_back_is_refused_as_a_possible_clone(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    rp.cookies.clear()
    assert _passwordless(rp, authenticator, oidc.Request(), count=7).status_code == 200
    rp.cookies.clear()
    clone = _passwordless(rp, authenticator, oidc.Request(), count=7)
    assert clone.status_code == 400
    assert clone.json()["reason"] == "counter"
    types = _types(rp)
    assert "passkey.counter_regressed" in types and types[-1] == "login.factor_failed"
    with oidc.domain_of(rp).keys.database.reading() as session:
        assert session.scalars(select(Authenticator)).one().sign_count == 7


def test_passwordless_needs_user_verification(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    authenticator.user_verifying = False
    rp.cookies.clear()
    answer = _passwordless(rp, authenticator, oidc.Request())
    assert answer.status_code == 400
    assert "login.factor_failed" in _types(rp)


def test_adding_a_passkey_needs_a_recent_strong_sign_in(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)  # now the person has a second factor
    # A password sign-in alone is no longer enough to add another one.
    rp.cookies.clear()
    oidc.sign_in(rp, oidc.Request(), login="strong")
    csrf = oidc.hidden(rp.get("/account").text, "csrf_token")
    refused = rp.post("/account/passkeys/options", json={"csrf_token": csrf})
    assert refused.status_code == 403
    assert refused.json()["redirect"] == "/account/verify?return_to=/account"
    # Signed out: nothing.
    rp.cookies.clear()
    assert rp.post("/account/passkeys/options", json={"csrf_token": csrf}).status_code == 401


def test_step_up_to_level_3_takes_a_passkey_without_user_verification(rp: TestClient) -> None:
    authenticator = SoftAuthenticator(origin=ISSUER)
    _register(rp, authenticator)
    authenticator.user_verifying = False  # a security key without its PIN, say
    rp.cookies.clear()
    request = oidc.Request(extra={"acr_values": LOA(3)})
    form = _login_page(rp, request)
    response = rp.post(
        "/login",
        data={**form, "login": "strong", "password": oidc.PASSWORD},
        follow_redirects=False,
    )
    page = rp.get(location(response))
    factor = {
        "interaction": _data(page.text, "interaction"),
        "csrf_token": _data(page.text, "csrf"),
    }
    options = rp.post("/login/factor/passkey-uv/options", json=factor).json()
    assert options["userVerification"] == "preferred"
    answer = rp.post(
        "/login/factor/passkey-uv", json={**factor, "credential": authenticator.get(options)}
    )
    assert answer.status_code == 200, answer.text
    claims = _claims(rp, request, answer.json()["redirect"])
    assert claims["acr"] == LOA(3)
    assert claims["amr"] == ["pwd", "hwk", "mfa"]


def test_someone_elses_passkey_is_refused_on_the_step_up_page(rp: TestClient) -> None:
    mine, theirs = SoftAuthenticator(origin=ISSUER), SoftAuthenticator(origin=ISSUER)
    _register(rp, mine)
    rp.cookies.clear()
    oidc.sign_in(rp, oidc.Request(), login="other")
    csrf = oidc.hidden(rp.get("/account").text, "csrf_token")
    created = theirs.create(rp.post("/account/passkeys/options", json={"csrf_token": csrf}).json())
    rp.post("/account/passkeys", json={"csrf_token": csrf, "name": "b", "credential": created})
    # "other" is signed in; the step-up page answered with "strong"'s passkey is refused.
    request = oidc.Request(extra={"acr_values": LOA(4)})
    page = rp.get(location(rp.get(request.url(), follow_redirects=False)))
    factor = {
        "interaction": _data(page.text, "interaction"),
        "csrf_token": _data(page.text, "csrf"),
    }
    options = rp.post("/login/factor/passkey-uv/options", json=factor).json()
    answer = rp.post(
        "/login/factor/passkey-uv",
        json={**factor, "credential": mine.get(options, credential=mine.credentials[0])},
    )
    assert answer.status_code == 400
    assert answer.json()["reason"] == "other-person"


def test_no_passkeys_at_an_ip_address(client: TestClient) -> None:
    """The standard test issuer is http://127.0.0.1:8000: browsers would refuse, so the
    sign-in page offers no passkey."""
    oidc.add_rp(oidc.domain_of(client), first_party=True)
    page = client.get(location(client.get(oidc.Request().url(), follow_redirects=False)))
    assert page.status_code == 200
    assert "passkey-sign-in" not in page.text
