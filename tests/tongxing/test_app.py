"""The composed app: health, readiness, operator endpoints and their access rule."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from core.api.deps import runtime_of
from core.services import Services
from core.settings import Settings
from core.store.redis import RedisStore
from tests.conftest import strong_secret
from tests.processes import free_port
from tongxing import create_app


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_each_dependency(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["store"]["ok"] is True


def test_readyz_names_the_failed_dependency(client: TestClient) -> None:
    services = runtime_of(client.app).get(Services)
    healthy_store = services.store
    services.store = RedisStore(f"redis://127.0.0.1:{free_port()}/0", prefix="txdead")
    try:
        response = client.get("/readyz")
    finally:
        services.store = healthy_store
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["store"]["ok"] is False
    assert "cannot reach Redis" in body["checks"]["store"]["error"]


def test_ops_endpoints_disabled_without_token_in_production(client: TestClient) -> None:
    for path in ("/metrics", "/ops/v1/instances"):
        response = client.get(path)
        assert response.status_code == 403
        assert response.json()["type"] == "urn:tongxing:problem:ops-disabled"


def test_ops_endpoints_need_the_right_token(make_settings: Callable[..., Settings]) -> None:
    token = strong_secret()
    with TestClient(create_app(make_settings(ops_token=token))) as client:
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", headers={"authorization": f"Bearer {token}x"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        client.get("/healthz")
        metrics = client.get("/metrics", headers={"authorization": f"Bearer {token}"})
        assert metrics.status_code == 200
        assert 'tongxing_http_requests_total{method="GET",route="/healthz",status="200"}' in (
            metrics.text
        )
        assert "process_cpu_seconds_total" in metrics.text
        unmatched = client.get("/random/path/123")
        assert unmatched.status_code == 404
        again = client.get("/metrics", headers={"authorization": f"Bearer {token}"}).text
        assert 'route="unmatched"' in again
        assert "/random/path/123" not in again


def test_instances_lists_this_process_as_live(make_settings: Callable[..., Settings]) -> None:
    token = strong_secret()
    with TestClient(create_app(make_settings(ops_token=token))) as client:
        listing = client.get(
            "/ops/v1/instances", headers={"authorization": f"Bearer {token}"}
        ).json()["instances"]
    assert len(listing) == 1
    assert listing[0]["live"] is True
    assert listing[0]["this"] is True
    assert listing[0]["stopped_at"] is None


def test_demo_mode_opens_ops_endpoints(make_settings: Callable[..., Settings]) -> None:
    with TestClient(create_app(make_settings(mode="demo"))) as client:
        assert client.get("/ops/v1/instances").status_code == 200
