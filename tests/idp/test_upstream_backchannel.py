"""The upstream's back-channel logout endpoint against a small upstream of our own (its
discovery document and keys on a loopback server): a logout token is accepted once (its
``jti`` replayed is refused, on any process: the store keeps it), a disabled upstream's
tokens are refused, and the client secret is sealed at rest."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from joserfc import jws
from joserfc.jwk import ECKey, KeySet

from core.api.deps import runtime_of
from idp import upstreams
from idp.models import UpstreamProvider
from idp.protocol import oidc_rp
from idp.runtime import IdentityProvider

KEY = ECKey.generate_key("P-256", parameters={"kid": "up-1"})
SECRET = "the-upstream-client-secret-42"


@pytest.fixture
def upstream_issuer() -> Iterator[str]:
    """A loopback upstream serving its discovery document and JWKS."""
    issuer = ""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                body: dict[str, Any] = {
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/auth",
                    "token_endpoint": f"{issuer}/token",
                    "jwks_uri": f"{issuer}/jwks",
                    "response_types_supported": ["code"],
                    "id_token_signing_alg_values_supported": ["ES256"],
                }
            elif self.path == "/jwks":
                body = KeySet([KEY]).as_dict(private=False)
            else:
                self.send_response(404)
                self.end_headers()
                return
            raw = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()


def _idp(client: TestClient) -> IdentityProvider:
    found: IdentityProvider = runtime_of(client.app).get(IdentityProvider)
    return found


def _register(idp: IdentityProvider, issuer: str) -> None:
    with idp.database.transaction() as session:
        upstreams.create(
            session,
            data_keys=idp.data_keys,
            events=idp.events,
            actor="test",
            upstream_id="province",
            name_zh="省平台",
            name_en="Province",
            discovery_url=f"{issuer}/.well-known/openid-configuration",
            client_id="tongxing",
            client_secret=SECRET,
            scopes=["openid"],
            claim_map={"name": "name"},
            acr_map={},
        )


def _logout_token(issuer: str, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": "tongxing",
        "iat": now,
        "exp": now + 120,
        "jti": "jti-1",
        "sub": "wang",
        "events": {oidc_rp.BACKCHANNEL_EVENT: {}},
        **changes,
    }
    return jws.serialize_compact({"alg": "ES256", "kid": "up-1"}, json.dumps(claims), KEY)


def test_a_logout_token_is_accepted_once(client: TestClient, upstream_issuer: str) -> None:
    _register(_idp(client), upstream_issuer)
    url = "/login/upstream/province/backchannel-logout"
    token = _logout_token(upstream_issuer)
    first = client.post(url, data={"logout_token": token})
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    assert client.post(url, data={"logout_token": token}).status_code == 400  # jti replayed
    fresh = _logout_token(upstream_issuer, jti="jti-2")
    assert client.post(url, data={"logout_token": fresh}).status_code == 200
    nonce = _logout_token(upstream_issuer, jti="jti-3", nonce="x")
    assert client.post(url, data={"logout_token": nonce}).status_code == 400
    assert client.post(url, data={}).status_code == 400


def test_a_disabled_upstreams_tokens_are_refused(client: TestClient, upstream_issuer: str) -> None:
    idp = _idp(client)
    _register(idp, upstream_issuer)
    with idp.database.transaction() as session:
        upstreams.set_disabled(
            session, events=idp.events, actor="test", upstream_id="province", disabled=True
        )
    url = "/login/upstream/province/backchannel-logout"
    answer = client.post(url, data={"logout_token": _logout_token(upstream_issuer)})
    assert answer.status_code == 400


def test_the_client_secret_is_sealed_at_rest(client: TestClient, upstream_issuer: str) -> None:
    idp = _idp(client)
    _register(idp, upstream_issuer)
    with idp.database.reading() as session:
        stored = session.get(UpstreamProvider, "province")
        assert stored is not None
        assert SECRET.encode() not in stored.secret_sealed
        assert SECRET not in json.dumps(upstreams.view(stored))
        assert upstreams.client_secret(session, data_keys=idp.data_keys, upstream=stored) == SECRET


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"discovery_url": "http://idp.example/.well-known/openid-configuration"}, "https"),
        ({"discovery_url": "https://idp.example/other"}, "must end with"),
        ({"discovery_url": "https://169.254.169.254/.well-known/openid-configuration"}, "https"),
        ({"discovery_url": "https://[fe80::1]/.well-known/openid-configuration"}, "https"),
        ({"upstream_id": "Not A Slug"}, "upstream id"),
        ({"acr_map": {"x": 7}}, "acr map"),
        ({"amr_map": {"x": "made-up"}}, "amr map"),
        ({"claim_map": {"shoe_size": "x"}}, "claim map"),
        ({"trusted_proofing_level": 1}, "trusted"),
    ],
)
def test_a_bad_registration_is_refused(
    client: TestClient, changes: dict[str, Any], message: str
) -> None:
    idp = _idp(client)
    values: dict[str, Any] = {
        "upstream_id": "province",
        "name_zh": "省平台",
        "name_en": "Province",
        "discovery_url": "https://idp.example/.well-known/openid-configuration",
        "client_id": "tongxing",
        "client_secret": SECRET,
        "scopes": ["openid"],
        "claim_map": {},
        "acr_map": {},
        **changes,
    }
    with (
        pytest.raises(upstreams.UpstreamError, match=message),
        idp.database.transaction() as session,
    ):
        upstreams.create(session, data_keys=idp.data_keys, events=idp.events, actor="t", **values)
