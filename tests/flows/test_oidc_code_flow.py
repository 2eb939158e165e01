"""The authorization code flow end to end over HTTP, in both storage configurations:
the behaviours the OpenID conformance suite checks, and ours around them."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp.runtime import IdentityProvider
from tests import oidc
from tests.oidc import location, query

ISSUER = "http://127.0.0.1:8000"


@pytest.fixture
def rp(client: TestClient) -> TestClient:
    """The app with a person and a (third-party, consent-asking) relying party."""
    domain = oidc.domain_of(client)
    oidc.add_person(domain, email="zhangsan@example.cn")
    oidc.add_rp(domain)
    return client


def _events(client: TestClient) -> list[str]:
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        return [e.type for e in session.scalars(select(AuditEntry).order_by(AuditEntry.index))]


def test_sign_in_consent_code_tokens_userinfo(rp: TestClient) -> None:
    request = oidc.Request()
    callback = oidc.sign_in(rp, request)
    assert callback["state"] == request.state
    assert callback["iss"] == ISSUER  # RFC 9207
    tokens = oidc.redeem(rp, request, callback["code"])
    assert tokens.status_code == 200, tokens.text
    assert tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile email"
    claims = oidc.jwt_claims(body["id_token"])
    assert claims["iss"] == ISSUER
    assert claims["nonce"] == request.nonce
    assert claims["aud"] == "permits"
    assert claims["acr"] == "urn:tongxing:loa:2"
    assert claims["amr"] == ["pwd"]
    assert abs(claims["auth_time"] - time.time()) < 30
    assert "org" not in claims
    info = rp.get("/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.json() == {
        "sub": claims["sub"],
        "name": "张三",
        "preferred_username": "zhangsan",
        "updated_at": info.json()["updated_at"],
        "proofing_level": 2,
        "email": "zhangsan@example.cn",
        "email_verified": False,
    }
    events = _events(rp)
    assert "login.succeeded" in events
    assert "consent.granted" in events


def test_consent_is_remembered_and_prompt_consent_asks_again(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request())
    again = rp.get(oidc.Request().url(), follow_redirects=False)
    assert location(again).startswith(oidc.REDIRECT)  # SSO, consent remembered: no page
    forced = rp.get(oidc.Request(extra={"prompt": "consent"}).url(), follow_redirects=False)
    assert location(forced).startswith("/consent?")
    more = rp.get(oidc.Request(scope="openid offline_access").url(), follow_redirects=False)
    assert location(more).startswith("/consent?")  # a new scope needs consent


def test_consent_denied_is_access_denied(rp: TestClient) -> None:
    request = oidc.Request()
    callback = oidc.sign_in(rp, request, decision="deny")
    assert callback["error"] == "access_denied"
    assert callback["state"] == request.state
    assert callback["iss"] == ISSUER
    assert "consent.denied" in _events(rp)


def test_first_party_apps_skip_consent(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, "housing", first_party=True)
    response = client.get(oidc.Request(client_id="housing").url(), follow_redirects=False)
    page = client.get(location(response))
    posted = oidc.submit_login(client, page.text)
    assert location(posted).startswith(oidc.REDIRECT)
    # The SSO cookie: script cannot read it, other sites' requests do not carry it.
    sso_cookie = next(c for c in posted.headers.get_list("set-cookie") if c.startswith("tx_sso="))
    assert {"httponly", "samesite=lax", "path=/"} <= {
        part.strip().lower() for part in sso_cookie.split(";")
    }


@pytest.mark.parametrize(
    "change",
    [
        {"redirect_uri": "https://rp.example/cb/other"},
        {"redirect_uri": "https://rp.example/cb?x=1"},
        {"redirect_uri": "https://evil.example/cb"},
        {"redirect_uri": "HTTPS://rp.example/cb"},
        {"client_id": "nobody"},
    ],
)
def test_an_unregistered_redirect_uri_or_client_never_redirects(
    rp: TestClient, change: dict[str, str]
) -> None:
    params = {**oidc.Request().params(), **change}
    response = rp.get("/authorize?" + urlencode(params), follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "无法完成请求" in response.text


def test_errors_after_the_redirect_uri_is_verified_go_back_with_state_and_iss(
    rp: TestClient,
) -> None:
    cases = {
        "invalid_request": {"code_challenge_method": "plain"},
        "unsupported_response_type": {"response_type": "token"},
        "invalid_scope": {"scope": "profile"},
        "request_not_supported": {"request": "eyJ..."},
    }
    for error, change in cases.items():
        request = oidc.Request()
        params = {**request.params(), **change}
        response = rp.get("/authorize?" + urlencode(params), follow_redirects=False)
        back = query(location(response))
        assert back["error"] == error, (error, back)
        assert back["state"] == request.state
        assert back["iss"] == ISSUER
    missing = oidc.Request().params()
    del missing["code_challenge"]
    back = query(location(rp.get("/authorize?" + urlencode(missing), follow_redirects=False)))
    assert back["error"] == "invalid_request"  # PKCE is required


def test_duplicate_parameters_are_refused_on_our_page(rp: TestClient) -> None:
    url = oidc.Request().url() + "&scope=openid"
    response = rp.get(url, follow_redirects=False)
    assert response.status_code == 400
    assert "location" not in response.headers


def test_unknown_parameters_are_tolerated(rp: TestClient) -> None:
    callback = oidc.sign_in(rp, oidc.Request(extra={"foo": "bar", "claims_locales": "xx"}))
    assert "code" in callback


def test_post_to_the_authorization_endpoint(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request())
    request = oidc.Request()
    response = rp.post("/authorize", data=request.params(), follow_redirects=False)
    assert "code" in query(location(response))


def test_prompt_none_without_a_session_is_login_required(rp: TestClient) -> None:
    request = oidc.Request(extra={"prompt": "none"})
    back = query(location(rp.get(request.url(), follow_redirects=False)))
    assert back["error"] == "login_required"
    assert back["state"] == request.state
    assert back["iss"] == ISSUER


def test_prompt_none_with_a_session_is_silent_and_consent_required_otherwise(
    rp: TestClient,
) -> None:
    oidc.sign_in(rp, oidc.Request())
    silent = rp.get(oidc.Request(extra={"prompt": "none"}).url(), follow_redirects=False)
    assert "code" in query(location(silent))
    needs_consent = oidc.Request(scope="openid offline_access", extra={"prompt": "none"})
    back = query(location(rp.get(needs_consent.url(), follow_redirects=False)))
    assert back["error"] == "consent_required"


def test_max_age_forces_a_new_sign_in_with_a_later_auth_time(rp: TestClient) -> None:
    first = oidc.sign_in(rp, request := oidc.Request())
    auth_time = oidc.jwt_claims(oidc.redeem(rp, request, first["code"]).json()["id_token"])[
        "auth_time"
    ]
    time.sleep(2.1)
    again = oidc.Request(extra={"max_age": "1"})
    response = rp.get(again.url(), follow_redirects=False)
    assert location(response).startswith("/login?")
    callback = oidc.sign_in(rp, again)
    claims = oidc.jwt_claims(oidc.redeem(rp, again, callback["code"]).json()["id_token"])
    assert claims["auth_time"] > auth_time
    silent = oidc.Request(extra={"max_age": "1", "prompt": "none"})
    time.sleep(2.1)
    back = query(location(rp.get(silent.url(), follow_redirects=False)))
    assert back["error"] == "login_required"


def test_prompt_login_forces_a_sign_in(rp: TestClient) -> None:
    oidc.sign_in(rp, oidc.Request())
    forced = oidc.Request(extra={"prompt": "login"})
    assert location(rp.get(forced.url(), follow_redirects=False)).startswith("/login?")
    assert "code" in oidc.sign_in(rp, forced)


def test_the_code_is_single_use_and_a_replay_revokes_its_tokens(rp: TestClient) -> None:
    request = oidc.Request(scope="openid profile offline_access")
    callback = oidc.sign_in(rp, request)
    first = oidc.redeem(rp, request, callback["code"])
    assert first.status_code == 200
    access, refresh = first.json()["access_token"], first.json()["refresh_token"]
    replay = oidc.redeem(rp, request, callback["code"])
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    info = rp.get("/userinfo", headers={"authorization": f"Bearer {access}"})
    assert info.status_code == 401
    assert 'error="invalid_token"' in info.headers["www-authenticate"]
    refreshed = rp.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh},
        headers=oidc.basic("permits"),
    )
    assert refreshed.json()["error"] == "invalid_grant"
    assert "grant.revoked" in _events(rp)


def test_code_checks_client_redirect_uri_and_pkce(rp: TestClient) -> None:
    oidc.add_rp(oidc.domain_of(rp), "other", first_party=True)
    for change, error in (
        ({"verifier": "x" * 43}, "invalid_grant"),
        ({"redirect_uri": "https://rp.example/other"}, "invalid_grant"),
        ({"client_id": "other"}, "invalid_grant"),
    ):
        request = oidc.Request()
        code = oidc.sign_in(rp, request)["code"]
        wrong = oidc.Request(**{**request.__dict__, **change})
        response = oidc.redeem(rp, wrong, code)
        assert response.json()["error"] == error, change
        # The code is spent either way: the right request now fails too.
        assert oidc.redeem(rp, request, code).json()["error"] == "invalid_grant"
    request = oidc.Request()
    code = oidc.sign_in(rp, request)["code"]
    wrong_secret = oidc.redeem(rp, request, code, secret="not-the-secret-at-all-000")
    assert wrong_secret.status_code == 401
    assert oidc.redeem(rp, request, code).status_code == 200  # not spent by a failed auth
    missing = rp.post(
        "/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": oidc.REDIRECT},
        headers=oidc.basic("permits"),
    )
    assert missing.json()["error"] == "invalid_request"


def test_public_clients_use_pkce_without_a_secret(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, "mobile", public=True, first_party=True)
    request = oidc.Request(client_id="mobile")
    code = oidc.sign_in(client, request)["code"]
    response = client.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "mobile",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier,
        },
    )
    assert response.status_code == 200, response.text


def test_organisation_choice_is_carried_in_tokens_and_userinfo(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    org_id = oidc.add_organisation(domain, member="zhangsan")
    oidc.add_rp(domain, first_party=True)
    request = oidc.Request()
    callback = oidc.sign_in(client, request, organisation=org_id)
    body = oidc.redeem(client, request, callback["code"]).json()
    org = {"code": oidc.USCC, "name": "某某科技有限公司", "role": "admin"}
    assert oidc.jwt_claims(body["id_token"])["org"] == org
    info = client.get("/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
    assert info.json()["org"] == org
    # SSO keeps the choice; select_account asks again, and "myself" drops the claim.
    again = client.get(oidc.Request().url(), follow_redirects=False)
    assert "code" in query(location(again))
    request = oidc.Request(extra={"prompt": "select_account"})
    response = client.get(request.url(), follow_redirects=False)
    assert location(response).startswith("/login/organisation?")
    callback = query(oidc.follow_to_rp(client, response, organisation=""))
    body = oidc.redeem(client, request, callback["code"]).json()
    assert "org" not in oidc.jwt_claims(body["id_token"])


def test_a_forged_organisation_choice_is_refused(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_person(domain, "lisi", name="李四")
    oidc.add_organisation(domain, member="zhangsan")
    foreign = oidc.add_organisation(domain, member="lisi", uscc=oidc.OTHER_USCC, name="另一家公司")
    oidc.add_rp(domain, first_party=True)
    response = client.get(oidc.Request().url(), follow_redirects=False)
    page = client.get(location(response))
    posted = oidc.submit_login(client, page.text)
    choice = client.get(location(posted))
    assert "另一家公司" not in choice.text
    forged = client.post(
        "/login/organisation",
        data={
            "interaction": oidc.hidden(choice.text, "interaction"),
            "csrf_token": oidc.hidden(choice.text, "csrf_token"),
            "organisation": foreign,
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_pairwise_subjects_differ_per_sector_and_stay_stable(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, "permits", first_party=True, pairwise_sector="permits.example")
    oidc.add_rp(domain, "housing", first_party=True, pairwise_sector="housing.example")
    oidc.add_rp(domain, "plain", first_party=True)
    subjects = {}
    for client_id in ("permits", "housing", "plain", "permits"):
        request = oidc.Request(client_id=client_id)
        body = oidc.redeem(client, request, oidc.sign_in(client, request)["code"]).json()
        sub = oidc.jwt_claims(body["id_token"])["sub"]
        info = client.get("/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
        assert info.json()["sub"] == sub
        assert subjects.setdefault(client_id, sub) == sub
    assert len(set(subjects.values())) == 3


def test_login_pages_need_csrf_and_the_same_browser(rp: TestClient) -> None:
    response = rp.get(oidc.Request().url(), follow_redirects=False)
    page = rp.get(location(response))
    interaction = oidc.hidden(page.text, "interaction")
    no_token = rp.post(
        "/login",
        data={"interaction": interaction, "login": "zhangsan", "password": oidc.PASSWORD},
        follow_redirects=False,
    )
    assert no_token.status_code == 403
    other_browser = TestClient(rp.app)  # its own cookie jar; the app is already running
    stolen = other_browser.post(
        "/login",
        data={
            "interaction": interaction,
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
            "login": "zhangsan",
            "password": oidc.PASSWORD,
        },
        follow_redirects=False,
    )
    assert stolen.status_code == 400  # the interaction belongs to the first browser
    assert page.headers["content-security-policy"].endswith("form-action 'self' https://rp.example")


def test_wrong_passwords_back_off_and_are_audited(rp: TestClient) -> None:
    response = rp.get(oidc.Request().url(), follow_redirects=False)
    page = rp.get(location(response))
    form = {
        "interaction": oidc.hidden(page.text, "interaction"),
        "csrf_token": oidc.hidden(page.text, "csrf_token"),
        "login": "zhangsan",
    }
    statuses = [
        rp.post("/login", data={**form, "password": f"wrong {i}"}).status_code for i in range(5)
    ]
    assert statuses == [400, 400, 400, 400, 429]
    locked = rp.post("/login", data={**form, "password": oidc.PASSWORD})
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "尝试次数过多" in locked.text
    assert _events(rp).count("login.failed") == 5
    unknown = rp.post("/login", data={**form, "login": "nobody", "password": "x"})
    assert unknown.status_code == 400
    assert "用户名或密码不正确" in unknown.text


def test_pages_speak_english_when_asked(rp: TestClient) -> None:
    response = rp.get(oidc.Request().url(), follow_redirects=False)
    page = rp.get(location(response), headers={"accept-language": "en-GB,en;q=0.9"})
    assert "Sign in" in page.text
    assert page.headers["content-language"] == "en"
    chinese = rp.get(location(response))
    assert "登录" in chinese.text
    assert 'lang="zh-CN"' in chinese.text


def test_discovery_document(client: TestClient) -> None:
    body = client.get("/.well-known/openid-configuration").json()
    assert body["issuer"] == ISSUER
    for endpoint in ("authorization", "token", "userinfo", "end_session", "introspection"):
        assert body[f"{endpoint}_endpoint"].startswith(ISSUER + "/")
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["backchannel_logout_session_supported"] is True
    assert client.get("/jwks").json()["keys"]


def test_the_account_lock_holds_however_the_login_is_spelt(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    with domain.keys.database.transaction() as session:
        from idp import accounts

        accounts.create_user(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            username="zhangsan",
            display_name="张三",
            actor="t",
            password=oidc.PASSWORD,
            phone="13800138000",
            email="zs@example.cn",
        )
    oidc.add_rp(domain, first_party=True)
    response = client.get(oidc.Request().url(), follow_redirects=False)
    page = client.get(location(response))
    form = {
        "interaction": oidc.hidden(page.text, "interaction"),
        "csrf_token": oidc.hidden(page.text, "csrf_token"),
    }
    for spelling in ("13800138000", "138 0013 8000", "zhangsan", "ZS@example.cn", "1 3800138000"):
        client.post("/login", data={**form, "login": spelling, "password": "wrong"})
    for spelling in ("138 00138000", "zs@example.cn", " ZhangSan "):
        refused = client.post("/login", data={**form, "login": spelling, "password": oidc.PASSWORD})
        assert refused.status_code == 429, spelling


def test_parallel_guesses_cannot_pass_the_limit(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from idp.login import Failed, sign_in

    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    idp = runtime_of(client.app).get(IdentityProvider)
    verified = []

    def guess(i: int) -> bool:
        result = sign_in(
            idp,
            login="zhangsan",
            password=f"guess {i}",
            address="192.0.2.1",
            user_agent="t",
            handle=None,
        )
        assert isinstance(result, Failed)
        return result.refusal is None or result.refusal.retry_after > 0

    original = idp.limits.failed

    def counting_failed(**kwargs: str) -> object:
        verified.append(1)
        return original(**kwargs)

    idp.limits.failed = counting_failed
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(guess, range(24)))
    assert len(verified) <= 6  # 5 free attempts, then one at a time under the lock


def test_a_code_redeemed_after_logout_is_refused(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, first_party=True)
    request = oidc.Request()
    code = oidc.sign_in(client, request)["code"]
    page = client.get("/logout")
    client.post("/logout/confirm", data={"csrf_token": oidc.hidden(page.text, "csrf_token")})
    late = oidc.redeem(client, request, code)
    assert late.json()["error"] == "invalid_grant"


def test_hostile_tokens_and_credentials_get_errors_not_crashes(rp: TestClient) -> None:
    header = oidc.b64json({"alg": ["ES256"], "typ": {"x": 1}, "kid": 7})
    hostile = f"{header}.{oidc.b64json({'sub': 'x'})}.c2ln"
    assert rp.get("/userinfo", headers={"authorization": f"Bearer {hostile}"}).status_code == 401
    logout = rp.get("/logout?" + urlencode({"id_token_hint": hostile}))
    assert logout.status_code == 400
    basic = rp.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"authorization": "Basic éééé".encode()},  # type: ignore[dict-item]
    )
    assert basic.status_code == 401
    assert basic.json()["error"] == "invalid_client"


def test_clients_may_ask_for_rs256_id_tokens(client: TestClient) -> None:
    from joserfc import jwt as jose_jwt
    from joserfc.jwk import KeySet

    domain = oidc.domain_of(client)
    oidc.add_person(domain)
    oidc.add_rp(domain, "legacy", first_party=True, id_token_alg="RS256")
    oidc.add_rp(domain, "modern", first_party=True)
    discovery = client.get("/.well-known/openid-configuration").json()
    assert discovery["id_token_signing_alg_values_supported"] == ["ES256", "RS256"]
    for client_id, alg in (("legacy", "RS256"), ("modern", "ES256"), ("legacy", "RS256")):
        request = oidc.Request(client_id=client_id)
        body = oidc.redeem(client, request, oidc.sign_in(client, request)["code"]).json()
        keys = KeySet.import_key_set(client.get("/jwks").json())
        token = jose_jwt.decode(body["id_token"], keys, algorithms=[alg])
        assert token.header["alg"] == alg
        assert token.claims["at_hash"] == oidc.jwt_claims(body["id_token"])["at_hash"]
        info = client.get("/userinfo", headers={"authorization": f"Bearer {body['access_token']}"})
        assert info.status_code == 200  # access tokens keep the primary algorithm
    algorithms = sorted(k["alg"] for k in client.get("/jwks").json()["keys"])
    assert algorithms == ["ES256", "ES256", "RS256", "RS256"]  # active + next of each
