"""``private_key_jwt`` client authentication (RFC 7523, OIDC Core §9) over HTTP, with the
client's JWKS served by a real HTTP server on loopback."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from core.api.deps import runtime_of
from idp import clients as registry
from idp.runtime import IdentityProvider
from tests import oidc
from tests.receiver import counted_json_document, json_document

TOKEN_ENDPOINT = "http://127.0.0.1:8000/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _register(client: TestClient, jwks_uri: str) -> None:
    """The certificate system, authenticating with keys published at ``jwks_uri``."""
    domain = oidc.domain_of(client)
    with domain.keys.database.transaction() as session:
        registry.register(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            client_id="cert-system",
            name="Certificate system",
            grant_types=["client_credentials"],
            scopes=["seal:sign"],
            actor="test",
            jwks_uri=jwks_uri,
            loopback_server_uris=True,
        )


@pytest.fixture
def signer(client: TestClient) -> Iterator[ECKey]:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
    document = KeySet([key]).as_dict(private=False)
    with json_document(document) as uri:
        _register(client, uri)
        yield key


def _assertion(key: Any, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": "cert-system",
        "sub": "cert-system",
        "aud": TOKEN_ENDPOINT,
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
        **changes,
    }
    return jwt.encode({"alg": "ES256", "kid": "k1"}, claims, key)


def _token(client: TestClient, assertion: str, **extra: str) -> Any:
    return client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
            **extra,
        },
    )


def test_a_signed_assertion_authenticates_once(client: TestClient, signer: ECKey) -> None:
    assertion = _assertion(signer)
    first = _token(client, assertion)
    assert first.status_code == 200, first.text
    assert first.json()["scope"] == "seal:sign"
    replay = _token(client, assertion)
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_client"
    with_id = _token(
        client, _assertion(signer, aud="http://127.0.0.1:8000"), client_id="cert-system"
    )
    assert with_id.status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"aud": "https://elsewhere.example/token"},
        {"iss": "someone-else"},
        {"exp": int(time.time()) - 120},
        {"exp": int(time.time()) + 3600},
        {"jti": None},
    ],
)
def test_bad_assertions_are_refused(
    client: TestClient, signer: ECKey, change: dict[str, Any]
) -> None:
    claims = {k: v for k, v in change.items() if v is not None}
    assertion = _assertion(signer, **claims)
    if change.get("jti", "x") is None:
        parsed = oidc.jwt_claims(assertion)
        del parsed["jti"]
        assertion = jwt.encode({"alg": "ES256", "kid": "k1"}, parsed, signer)
    response = _token(client, assertion)
    assert response.status_code == 401, change
    assert response.json()["error"] == "invalid_client"


def test_foreign_keys_unsigned_and_mixed_methods_are_refused(
    client: TestClient, signer: ECKey
) -> None:
    other = ECKey.generate_key("P-256", parameters={"kid": "k1"})
    assert _token(client, _assertion(other)).status_code == 401
    unsigned = oidc.b64json({"alg": "none"}) + "." + _assertion(signer).split(".")[1] + "."
    assert _token(client, unsigned).status_code == 401
    both = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(signer),
            "client_secret": "x" * 30,
            "client_id": "cert-system",
        },
    )
    assert both.json()["error"] == "invalid_request"
    wrong_type = client.post(
        "/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:example:saml",
            "client_assertion": _assertion(signer),
        },
    )
    assert wrong_type.status_code == 401


def test_hostile_assertion_headers_are_invalid_client(client: TestClient, signer: ECKey) -> None:
    body = _assertion(signer).split(".")[1]
    for header in ({"alg": "ES256", "kid": "k1", "crit": 5}, {"alg": ["ES256"]}, {"kid": {}}):
        assertion = f"{oidc.b64json(header)}.{body}.c2ln"
        response = _token(client, assertion)
        assert response.status_code == 401, header
        assert response.json()["error"] == "invalid_client"


def test_a_failing_jwks_uri_is_not_fetched_for_every_bogus_assertion(client: TestClient) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "k1", "alg": "ES256"})
    with counted_json_document(KeySet([key]).as_dict(private=False)) as (uri, served):
        _register(client, uri)
        served.status = 503
        bogus = ECKey.generate_key("P-256", parameters={"kid": "k1"})
        for _ in range(8):
            refused = _token(client, _assertion(bogus))
            assert refused.status_code == 401
            assert refused.json()["error"] == "invalid_client"
        assert served.fetches == 1  # the failure is remembered, not retried per assertion
        served.status = 200
        assert _token(client, _assertion(key)).status_code == 401  # still inside the window
        assert served.fetches == 1
        client_keys = runtime_of(client.app).get(IdentityProvider).client_keys
        client_keys.failed_fetch_seconds = 0.5  # rather than wait the real 30 s
        time.sleep(0.6)
        accepted = _token(client, _assertion(key))
        assert accepted.status_code == 200, accepted.text
        assert served.fetches == 2
