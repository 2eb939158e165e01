"""The token endpoint over HTTP: client credentials, client authentication, RFC 6749 errors."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import quote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from core.api.deps import runtime_of
from idp import clients as registry
from idp.api import token as token_api
from idp.runtime import IdentityProvider
from tongxing.composition import Domain

SECRET = "a chosen secret: with + and % too"
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def domain(client: TestClient) -> Domain:
    found: Domain = runtime_of(client.app).get(Domain)
    with found.keys.database.transaction() as session:
        for client_id, scopes, method in (
            ("cert-system", ["seal:sign"], "client_secret_basic"),
            ("audit-office", ["audit:read"], "client_secret_post"),
            ("both", ["seal:sign", "audit:read"], None),
        ):
            registry.register(
                session,
                data_keys=found.data_keys,
                events=found.audit,
                client_id=client_id,
                name=client_id,
                grant_types=["client_credentials"],
                scopes=scopes,
                actor="t",
                auth_method=method,
                secret=SECRET,
            )
        registry.register(
            session,
            data_keys=found.data_keys,
            events=found.audit,
            client_id="web-app",
            name="web",
            grant_types=["authorization_code"],
            scopes=["openid"],
            redirect_uris=["https://web.example/cb"],
            actor="t",
            secret=SECRET,
        )
    return found


def _basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {**FORM, "authorization": "Basic " + base64.b64encode(raw).decode()}


def test_client_credentials_with_basic_and_post(client: TestClient, domain: Domain) -> None:
    response = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic("cert-system", SECRET)
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "seal:sign"
    assert body["expires_in"] == 600
    issuer = domain.keys.custody.settings.issuer
    verified = domain.tokens.verify(
        body["access_token"], audience=issuer + "/seal", scope="seal:sign"
    )
    assert verified.client_id == "cert-system"
    posted = client.post(
        "/token",
        headers=FORM,
        data={
            "grant_type": "client_credentials",
            "client_id": "audit-office",
            "client_secret": SECRET,
        },
    )
    assert posted.status_code == 200, posted.text


def test_a_token_from_the_endpoint_opens_the_audit_log(client: TestClient, domain: Domain) -> None:
    token = client.post(
        "/token",
        headers=FORM,
        data={
            "grant_type": "client_credentials",
            "client_id": "audit-office",
            "client_secret": SECRET,
        },
    ).json()["access_token"]
    entries = client.get("/audit/v1/entries", headers={"authorization": f"Bearer {token}"})
    assert entries.status_code == 200
    seal_token = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic("cert-system", SECRET)
    ).json()["access_token"]
    refused = client.get("/audit/v1/entries", headers={"authorization": f"Bearer {seal_token}"})
    assert refused.status_code == 401  # a token for the sealing API is not for the log


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        ("cert-system", "wrong secret of some length"),
        ("nobody", SECRET),
        ("audit-office", SECRET),
    ],  # audit-office registered client_secret_post, not Basic
)
def test_failed_client_authentication(
    client: TestClient, domain: Domain, client_id: str, secret: str
) -> None:
    response = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic(client_id, secret)
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_disabled_clients_get_no_tokens(client: TestClient, domain: Domain) -> None:
    with domain.keys.database.transaction() as session:
        registry.set_disabled(
            session, events=domain.audit, client_id="cert-system", disabled=True, actor="t"
        )
    response = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic("cert-system", SECRET)
    )
    assert response.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"grant_type": "client_credentials", "scope": "audit:read"}, "invalid_scope"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
        ({}, "invalid_request"),
        (
            {"grant_type": "client_credentials", "resource": "https://elsewhere.example/seal"},
            "invalid_target",
        ),
    ],
)
def test_protocol_errors(
    client: TestClient, domain: Domain, data: dict[str, str], error: str
) -> None:
    response = client.post("/token", data=data, headers=_basic("cert-system", SECRET))
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.headers["cache-control"] == "no-store"


def test_one_resource_per_token(client: TestClient, domain: Domain) -> None:
    mixed = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic("both", SECRET)
    )
    assert mixed.json()["error"] == "invalid_scope"
    one = client.post(
        "/token",
        data={"grant_type": "client_credentials", "scope": "audit:read"},
        headers=_basic("both", SECRET),
    )
    assert one.json()["scope"] == "audit:read"


def test_only_registered_grants(client: TestClient, domain: Domain) -> None:
    response = client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic("web-app", SECRET)
    )
    assert response.json()["error"] == "unauthorized_client"


def test_malformed_requests(client: TestClient, domain: Domain) -> None:
    as_json = client.post("/token", json={"grant_type": "client_credentials"})
    assert as_json.json()["error"] == "invalid_request"
    twice = client.post(
        "/token",
        content="grant_type=client_credentials&grant_type=x",
        headers=_basic("cert-system", SECRET),
    )
    assert twice.json()["error"] == "invalid_request"
    duplicated = client.post(
        "/token",
        content="grant_type=client_credentials&scope=seal%3Asign&scope=seal%3Asign",
        headers={**FORM, **_basic("cert-system", SECRET)},
    )
    assert duplicated.status_code == 400
    assert duplicated.json() == {
        "error": "invalid_request",
        "error_description": "parameter scope must appear once",
    }
    crowded = client.post(
        "/token",
        content="grant_type=client_credentials&" + "&".join(f"p{i}=x" for i in range(100)),
        headers={**FORM, **_basic("cert-system", SECRET)},
    )
    assert crowded.json()["error"] == "invalid_request"
    # Fields are split on "&" only: a ";" is part of a value (here an unknown scope).
    semicolon = client.post(
        "/token",
        content="grant_type=client_credentials&scope=seal:sign;audit:read",
        headers={**FORM, **_basic("cert-system", SECRET)},
    )
    assert semicolon.json()["error"] == "invalid_scope"
    both = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "cert-system",
            "client_secret": SECRET,
        },
        headers=_basic("cert-system", SECRET),
    )
    assert both.json()["error"] == "invalid_request"
    garbage = client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={**FORM, "authorization": "Basic !!!"},
    )
    assert garbage.status_code == 401
    assert client.get("/token").status_code == 405


def test_metadata(client: TestClient) -> None:
    body = client.get("/.well-known/oauth-authorization-server").json()
    assert body["token_endpoint"] == body["issuer"] + "/token"
    assert body["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert body == client.get("/.well-known/openid-configuration").json()


def _certsys_token(client: TestClient) -> Any:
    return client.post(
        "/token", data={"grant_type": "client_credentials"}, headers=_basic("cert-system", SECRET)
    )


def test_warm_client_credentials_are_answered_from_memory(
    client: TestClient, domain: Domain
) -> None:
    assert _certsys_token(client).status_code == 200  # warms the client and key caches
    idp = runtime_of(client.app).get(IdentityProvider)
    headers = _basic("cert-system", SECRET)
    form = {"grant_type": "client_credentials"}
    body = token_api._client_credentials_from_memory(idp, form, headers["authorization"])
    assert body is not None
    issuer = domain.keys.custody.settings.issuer
    verified = domain.tokens.verify(
        body["access_token"], audience=issuer + "/seal", scope="seal:sign"
    )
    assert verified.client_id == "cert-system"
    statements: list[str] = []
    engine = idp.database.engine

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(5):
            assert _certsys_token(client).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert statements == []
    # Not remembered (another client, or after the cache expired): the thread path answers.
    other = {
        "grant_type": "client_credentials",
        "client_id": "audit-office",
        "client_secret": SECRET,
    }
    assert token_api._client_credentials_from_memory(idp, other, None) is None


def test_a_disabled_client_stops_within_the_cache_bound(client: TestClient, domain: Domain) -> None:
    idp = runtime_of(client.app).get(IdentityProvider)
    idp.client_cache.seconds = 0.5  # CLIENT_CACHE_SECONDS (5 s), shortened for the test
    assert _certsys_token(client).status_code == 200
    with domain.keys.database.transaction() as session:
        registry.set_disabled(
            session, events=domain.audit, client_id="cert-system", disabled=True, actor="t"
        )
    time.sleep(0.6)
    refused = _certsys_token(client)
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"


def test_a_grant_revoked_before_its_code_is_redeemed_is_never_created(domain: Domain) -> None:
    """A replayed code's revocation can land before the first redemption inserts the grant:
    it leaves a tombstone, the insert is refused (GrantRevoked, the transaction rolled back)
    and the grant stays revoked."""
    from idp import grants

    database = domain.keys.database
    grant_id = "9" * 32
    with database.transaction() as session:
        assert grants.revoke(session, grant_id, reason="code-replay") is False  # a tombstone
    with pytest.raises(grants.GrantRevoked), database.transaction() as session:
        grants.create(
            session,
            grant_id=grant_id,
            client_id="app",
            user_id="someone",
            sid="sid",
            scopes=["openid"],
            context={},
        )
    with database.reading() as session:
        found = grants.get(session, grant_id)
        assert found is not None and found.revoked_at is not None and found.user_id is None
