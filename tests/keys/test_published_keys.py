"""``/jwks`` and the discovery documents: bytes computed per key change, ETag/304, freshness."""

from __future__ import annotations

import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from core.settings import Settings
from keys import token_keys
from keys.algorithms import KeyAlgorithm
from keys.runtime import KeyServices
from tongxing import create_app


def _rotate(keys: KeyServices) -> tuple[str, str]:
    with keys.database.transaction() as session:
        return token_keys.rotate(
            session,
            custody=keys.custody,
            events=keys.events,
            algorithm=KeyAlgorithm.ES256,
            actor="test",
            force=True,
        )


def _kids(client: TestClient) -> list[str]:
    return [key["kid"] for key in client.get("/jwks").json()["keys"]]


def test_jwks_etag_and_not_modified(client: TestClient) -> None:
    first = client.get("/jwks")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, max-age=300"  # the endpoint's own wins
    assert first.headers["x-frame-options"] == "DENY"  # the other edge headers still apply
    again = client.get("/jwks", headers={"if-none-match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert again.headers["cache-control"] == "public, max-age=300"
    listed = client.get("/jwks", headers={"if-none-match": f'"other", W/{etag}'})
    assert listed.status_code == 304
    other = client.get("/jwks", headers={"if-none-match": '"something-else"'})
    assert other.status_code == 200
    assert other.content == first.content
    assert other.headers["content-length"] == str(len(first.content))


def test_jwks_is_not_read_from_the_database_per_request(client: TestClient) -> None:
    published = runtime_of(client.app).get(KeyServices).published
    client.get("/jwks")
    document = published.fresh()
    assert document is not None
    client.get("/jwks")
    assert published.fresh() is document  # the same bytes object: nothing was recomputed


def test_rotation_here_shows_at_once_and_elsewhere_within_the_bound(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    with (
        TestClient(create_app(settings)) as here,
        TestClient(create_app(settings)) as elsewhere,
    ):
        before = _kids(here)
        assert _kids(elsewhere) == before  # two processes over one database agree
        etag = elsewhere.get("/jwks").headers["etag"]
        elsewhere_keys: KeyServices = runtime_of(elsewhere.app).get(KeyServices)
        elsewhere_keys.published.seconds = 0.5  # the bound, shortened for the test
        active, upcoming = _rotate(runtime_of(here.app).get(KeyServices))
        assert _kids(here)[:2] == [active, upcoming]  # the rotating process: at once
        assert active == before[1]
        # The other process may serve its remembered set until the bound passes, no longer.
        time.sleep(0.6)
        assert _kids(elsewhere)[:2] == [active, upcoming]
        assert _kids(elsewhere) == _kids(here)
        assert elsewhere.get("/jwks", headers={"if-none-match": etag}).status_code == 200


def test_the_documented_bound_is_the_active_key_cache(client: TestClient) -> None:
    published = runtime_of(client.app).get(KeyServices).published
    assert published.seconds == token_keys.ACTIVE_KEY_CACHE_SECONDS == 5.0


def test_discovery_documents_have_an_etag_and_answer_304(client: TestClient) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "public, max-age=300"
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.json()["issuer"] == "http://127.0.0.1:8000"
        again = client.get(path, headers={"if-none-match": response.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["etag"] == response.headers["etag"]
