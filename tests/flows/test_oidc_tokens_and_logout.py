"""Refresh rotation, introspection, revocation, RP-initiated and back-channel logout."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from core.api.deps import runtime_of
from idp import logout
from idp.models import LogoutDelivery
from idp.runtime import IdentityProvider
from tests import oidc
from tests.oidc import location, query
from tests.receiver import receiver

ISSUER = "http://127.0.0.1:8000"


def _tokens(client: TestClient, scope: str = "openid profile offline_access") -> dict[str, Any]:
    request = oidc.Request(scope=scope)
    response = oidc.redeem(client, request, oidc.sign_in(client, request)["code"])
    assert response.status_code == 200, response.text
    return dict(response.json())


def _refresh(client: TestClient, token: str, client_id: str = "permits", **extra: str) -> Any:
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token, **extra},
        headers=oidc.basic(client_id),
    )


@pytest.fixture
def rp(client: TestClient) -> TestClient:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, first_party=True)
    oidc.add_rp(domain, "housing", first_party=True, redirect_uri="https://housing.example/cb")
    return client


def test_refresh_rotates_and_reuse_revokes_the_grant(rp: TestClient) -> None:
    first = _tokens(rp)
    second = _refresh(rp, first["refresh_token"])
    assert second.status_code == 200, second.text
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"]
    old, new = oidc.jwt_claims(first["id_token"]), oidc.jwt_claims(body["id_token"])
    for claim in ("iss", "sub", "aud", "auth_time", "sid"):
        assert old[claim] == new[claim]
    assert "nonce" not in new
    narrowed = _refresh(rp, body["refresh_token"], scope="openid")
    assert narrowed.json()["scope"] == "openid"
    widened = _refresh(rp, narrowed.json()["refresh_token"], scope="openid email")
    assert widened.json()["error"] == "invalid_scope"
    # The first token again: reuse. The whole grant dies, including the newest tokens.
    reuse = _refresh(rp, first["refresh_token"])
    assert reuse.json()["error"] == "invalid_grant"
    assert _refresh(rp, narrowed.json()["refresh_token"]).json()["error"] == "invalid_grant"
    info = rp.get("/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 401


def test_refresh_tokens_are_bound_to_their_client(rp: TestClient) -> None:
    tokens = _tokens(rp)
    stolen = _refresh(rp, tokens["refresh_token"], client_id="housing")
    assert stolen.json()["error"] == "invalid_grant"
    assert _refresh(rp, tokens["refresh_token"]).status_code == 200  # still the owner's


def test_introspection_and_revocation(rp: TestClient) -> None:
    tokens = _tokens(rp)

    def introspect(token: str, client_id: str = "permits") -> dict[str, Any]:
        response = rp.post("/introspect", data={"token": token}, headers=oidc.basic(client_id))
        assert response.status_code == 200
        return dict(response.json())

    active = introspect(tokens["access_token"])
    assert active["active"] is True
    assert active["client_id"] == "permits"
    assert active["sub"] == oidc.jwt_claims(tokens["id_token"])["sub"]
    assert introspect(tokens["refresh_token"])["token_type"] == "refresh_token"
    assert introspect(tokens["access_token"], "housing") == {"active": False}
    assert introspect("garbage") == {"active": False}
    assert rp.post("/introspect", data={"token": tokens["access_token"]}).status_code == 401
    # Another client cannot revoke it; its owner can, and that revokes the grant.
    other = rp.post(
        "/revoke", data={"token": tokens["refresh_token"]}, headers=oidc.basic("housing")
    )
    assert other.status_code == 200
    assert introspect(tokens["refresh_token"])["active"] is True
    revoked = rp.post(
        "/revoke", data={"token": tokens["refresh_token"]}, headers=oidc.basic("permits")
    )
    assert revoked.status_code == 200
    assert introspect(tokens["refresh_token"]) == {"active": False}
    assert introspect(tokens["access_token"]) == {"active": False}
    unknown = rp.post("/revoke", data={"token": "nothing"}, headers=oidc.basic("permits"))
    assert unknown.status_code == 200


def test_userinfo_bearer_errors(rp: TestClient) -> None:
    missing = rp.get("/userinfo")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    bad = rp.get("/userinfo", headers={"authorization": "Bearer a.b.c"})
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]
    tokens = _tokens(rp)
    posted = rp.post("/userinfo", data={"access_token": tokens["access_token"]})
    assert posted.status_code == 200


def _logout_url(**params: str) -> str:
    return "/logout?" + urlencode(params)


def test_rp_initiated_logout_with_hint_ends_sso_and_redirects(rp: TestClient) -> None:
    tokens = _tokens(rp)
    response = rp.get(
        _logout_url(
            id_token_hint=tokens["id_token"],
            post_logout_redirect_uri=oidc.LOGOUT_REDIRECT,
            state="bye",
        ),
        follow_redirects=False,
    )
    assert location(response) == oidc.LOGOUT_REDIRECT + "?state=bye"
    silent = oidc.Request(extra={"prompt": "none"})
    back = query(location(rp.get(silent.url(), follow_redirects=False)))
    assert back["error"] == "login_required"
    # Session-bound grants end with the session; offline_access ones would not.
    info = rp.get("/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"})
    assert info.status_code == 200  # offline_access was granted: the grant survives
    online = _tokens(rp, scope="openid profile")
    rp.get(_logout_url(id_token_hint=online["id_token"]), follow_redirects=False)
    assert _refresh(rp, online["refresh_token"]).json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    "params",
    [
        {"id_token_hint": "not.a.token", "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT},
        {"post_logout_redirect_uri": "https://evil.example/", "client_id": "permits"},
        {"post_logout_redirect_uri": oidc.LOGOUT_REDIRECT},
    ],
)
def test_bad_logout_requests_never_redirect(rp: TestClient, params: dict[str, str]) -> None:
    _tokens(rp)
    response = rp.get(_logout_url(**params), follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    silent = rp.get(oidc.Request(extra={"prompt": "none"}).url(), follow_redirects=False)
    assert "code" in query(location(silent))  # still signed in


def test_unsigned_or_foreign_id_token_hints_are_refused(rp: TestClient) -> None:
    tokens = _tokens(rp)
    header, claims, _ = tokens["id_token"].split(".")
    none_alg = oidc.b64json({"alg": "none", "typ": "JWT"}) + "." + claims + "."
    tampered = (
        header + "." + oidc.b64json({**oidc.jwt_claims(tokens["id_token"]), "aud": "housing"})
    )
    for hint in (none_alg, tampered + "." + tokens["id_token"].split(".")[2]):
        response = rp.get(
            _logout_url(id_token_hint=hint, post_logout_redirect_uri=oidc.LOGOUT_REDIRECT),
            follow_redirects=False,
        )
        assert response.status_code == 400
        assert "location" not in response.headers


def test_logout_without_a_matching_hint_asks_for_confirmation(rp: TestClient) -> None:
    _tokens(rp)
    page = rp.get(
        _logout_url(client_id="permits", post_logout_redirect_uri=oidc.LOGOUT_REDIRECT, state="s"),
        follow_redirects=False,
    )
    assert page.status_code == 200
    assert "确定要退出" in page.text
    forged = rp.post(
        "/logout/confirm",
        data={"client_id": "permits", "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT},
        follow_redirects=False,
    )
    assert forged.status_code == 403  # no CSRF token: a third-party page cannot sign us out
    confirmed = rp.post(
        "/logout/confirm",
        data={
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "client_id": "permits",
            "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT,
            "state": "s",
        },
        follow_redirects=False,
    )
    assert location(confirmed) == oidc.LOGOUT_REDIRECT + "?state=s"
    back = query(
        location(rp.get(oidc.Request(extra={"prompt": "none"}).url(), follow_redirects=False))
    )
    assert back["error"] == "login_required"


def test_back_channel_logout_reaches_every_app_with_a_verifiable_token(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    with receiver() as (ok_uri, received), receiver(status=500) as (failing_uri, failed):
        oidc.add_rp(domain, "permits", first_party=True, backchannel=ok_uri)
        oidc.add_rp(
            domain,
            "housing",
            first_party=True,
            backchannel=failing_uri,
            redirect_uri="https://housing.example/cb",
        )
        runtime_of(client.app).get(IdentityProvider).backchannel_delays = (0.0, 0.05)
        permits = oidc.Request()
        id_token = oidc.redeem(client, permits, oidc.sign_in(client, permits)["code"]).json()[
            "id_token"
        ]
        housing = oidc.Request(client_id="housing", redirect_uri="https://housing.example/cb")
        oidc.sign_in(client, housing)  # SSO: no password typed
        response = client.get(_logout_url(id_token_hint=id_token), follow_redirects=False)
        assert response.status_code == 200  # our "signed out" page
        deadline = time.time() + 5
        while (not received or len(failed) < 2) and time.time() < deadline:
            time.sleep(0.05)
    assert len(received) == 1
    jwks = KeySet.import_key_set(client.get("/jwks").json())
    token = jwt.decode(received[0]["logout_token"], jwks)
    assert token.header["typ"] == "logout+jwt"
    claims = token.claims
    assert claims["iss"] == ISSUER
    assert claims["aud"] == "permits"
    assert claims["sid"] == oidc.jwt_claims(id_token)["sid"]
    assert claims["sub"] == oidc.jwt_claims(id_token)["sub"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims
    with domain.keys.database.reading() as session:
        rows = {r.client_id: r for r in session.scalars(select(LogoutDelivery))}
    assert rows["permits"].status == "delivered"
    assert rows["housing"].status == "failed"
    assert rows["housing"].attempts == 2
    assert rows["housing"].last_error == "HTTP 500"


def test_account_page_lists_sessions_and_signs_out_everywhere(rp: TestClient) -> None:
    _tokens(rp)
    second_browser = TestClient(rp.app)
    oidc.sign_in(second_browser, oidc.Request())
    page = rp.get("/account")
    assert page.status_code == 200
    assert page.text.count("/account/sessions/end") == 2
    assert "张三" in page.text
    done = rp.post(
        "/account/sign-out-everywhere", data={"csrf_token": oidc.hidden(page.text, "csrf_token")}
    )
    assert done.status_code == 200
    for browser in (rp, second_browser):
        silent = browser.get(oidc.Request(extra={"prompt": "none"}).url(), follow_redirects=False)
        assert query(location(silent))["error"] == "login_required"
    assert rp.get("/account").status_code == 401


def test_public_clients_cannot_introspect(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, "mobile", public=True, first_party=True)
    response = client.post("/introspect", data={"token": "x", "client_id": "mobile"})
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_tokens_of_a_disabled_person_are_inactive(rp: TestClient) -> None:
    tokens = _tokens(rp)
    domain = oidc.domain_of(rp)
    with domain.keys.database.transaction() as session:
        from idp import accounts

        accounts.set_disabled(
            session, events=domain.audit, login="zhangsan", disabled=True, actor="t"
        )
    for token in (tokens["access_token"], tokens["refresh_token"]):
        response = rp.post("/introspect", data={"token": token}, headers=oidc.basic("permits"))
        assert response.json() == {"active": False}


def test_deliveries_abandoned_by_a_stopped_process_are_retried(client: TestClient) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from idp import backchannel, logout

    domain = oidc.domain_of(client)
    idp = runtime_of(client.app).get(IdentityProvider)
    oidc.add_person(domain)
    with receiver() as (uri, received):
        oidc.add_rp(domain, first_party=True, backchannel=uri)
        oidc.sign_in(client, oidc.Request())
        sso = idp.sessions.get(client.cookies.get("tx_sso"))
        assert sso is not None
        # A process prepared the deliveries, then stopped before sending them.
        prepared = logout.ended(idp, sso, actor="t", reason="test")
        assert len(prepared) == 1
        assert asyncio.run(backchannel.retry_stale(idp)) == 0  # not stale yet
        with domain.keys.database.transaction() as session:
            session.execute(
                update(LogoutDelivery).values(updated_at=datetime.now(UTC) - timedelta(minutes=5))
            )
        assert asyncio.run(backchannel.retry_stale(idp)) == 1
    assert len(received) == 1
    claims = oidc.jwt_claims(received[0]["logout_token"])
    assert claims["sid"] == sso.sid
    assert claims["exp"] > time.time()  # signed afresh, not the stale token
    with domain.keys.database.reading() as session:
        row = session.scalars(select(LogoutDelivery)).one()
    assert (row.status, row.attempts) == ("delivered", 1)


def test_the_sweep_keeps_trying_until_its_attempts_are_spent(client: TestClient) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    from idp import backchannel, logout

    domain = oidc.domain_of(client)
    idp = runtime_of(client.app).get(IdentityProvider)
    oidc.add_person(domain)
    with receiver(status=503) as (uri, received):
        oidc.add_rp(domain, first_party=True, backchannel=uri)
        oidc.sign_in(client, oidc.Request())
        sso = idp.sessions.get(client.cookies.get("tx_sso"))
        assert sso is not None
        logout.ended(idp, sso, actor="t", reason="test")
        for _ in range(backchannel.MAX_ATTEMPTS + 1):
            with domain.keys.database.transaction() as session:
                session.execute(
                    update(LogoutDelivery).values(
                        updated_at=datetime.now(UTC) - timedelta(minutes=5)
                    )
                )
            asyncio.run(backchannel.retry_stale(idp))
    assert len(received) == backchannel.MAX_ATTEMPTS
    with domain.keys.database.reading() as session:
        row = session.scalars(select(LogoutDelivery)).one()
    assert (row.status, row.attempts, row.last_error) == (
        "failed",
        backchannel.MAX_ATTEMPTS,
        "HTTP 503",
    )


def test_logout_validation_is_a_rule_of_its_own(rp: TestClient) -> None:
    """idp.logout.validate_request, called as the routers call it (no HTTP)."""
    idp = runtime_of(rp.app).get(IdentityProvider)
    hint = _tokens(rp)["id_token"]
    checked = logout.validate_request(
        idp, {"id_token_hint": hint, "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT}
    )
    assert checked.client_id == "permits"
    assert checked.post_logout_redirect_uri == oidc.LOGOUT_REDIRECT
    assert checked.sid == oidc.jwt_claims(hint)["sid"]
    by_name = logout.validate_request(
        idp, {"client_id": "permits", "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT}
    )
    assert by_name.client_id == "permits" and by_name.sid is None
    refused = [
        {"id_token_hint": hint, "client_id": "housing"},  # not the hint's client
        {"post_logout_redirect_uri": oidc.LOGOUT_REDIRECT},  # whose URI?
        {"client_id": "permits", "post_logout_redirect_uri": "https://evil.example/"},
        {"client_id": "nobody", "post_logout_redirect_uri": oidc.LOGOUT_REDIRECT},
        {"id_token_hint": "not.a.token"},
    ]
    for params in refused:
        with pytest.raises(logout.LogoutRefused):
            logout.validate_request(idp, params)
