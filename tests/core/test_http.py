"""HTTP behaviour every endpoint shares: problem+json, body limit, headers, request ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.settings import Settings
from tests.conftest import strong_secret
from tongxing import create_app


def test_unknown_path_is_a_problem(client: TestClient) -> None:
    response = client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "urn:tongxing:problem:not-found"
    assert body["status"] == 404
    assert body["instance"] == "/no/such/thing"
    assert body["request_id"] == response.headers["x-request-id"]


def test_wrong_method_is_a_problem(client: TestClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405
    assert response.json()["type"] == "urn:tongxing:problem:method-not-allowed"


def test_wrong_method_names_every_method_of_the_path(client: TestClient) -> None:
    # /admin/v1/role-changes has a GET route and a POST route: the 405 names both.
    answer = client.request("OPTIONS", "/admin/v1/role-changes")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].split(", ")) == {"GET", "POST"}
    single = client.request("DELETE", "/admin/v1/dashboard")
    assert single.headers["allow"] == "GET"


@pytest.fixture
def app_with_test_routes(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """The real app plus two routes that exercise validation and a crash."""
    app: FastAPI = create_app(make_settings(max_request_bytes=2048))

    @app.post("/test/echo")
    def echo(payload: dict[str, int]) -> dict[str, int]:
        return payload

    @app.get("/test/crash")
    def crash() -> None:
        raise RuntimeError("database password is hunter2")

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def test_validation_error_is_a_problem(app_with_test_routes: TestClient) -> None:
    response = app_with_test_routes.post("/test/echo", json={"a": "not a number"})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:tongxing:problem:invalid-request"
    assert body["errors"][0]["location"] == ["body", "a"]


def test_crash_is_a_generic_500_without_details(
    app_with_test_routes: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = app_with_test_routes.get("/test/crash", headers={"X-Request-ID": "case-77"})
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "hunter2" not in response.text
    assert response.json()["type"] == "urn:tongxing:problem:internal-error"
    # The id it asks to be quoted is there, in the body and the header, with the edge's headers.
    assert response.json()["request_id"] == "case-77"
    assert response.headers["x-request-id"] == "case-77"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert any("unhandled error" in record.message for record in caplog.records)


def test_declared_oversized_body_is_refused(app_with_test_routes: TestClient) -> None:
    response = app_with_test_routes.post(
        "/test/echo",
        content=b"{" + b" " * 4096 + b"}",
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["type"] == "urn:tongxing:problem:request-too-large"
    assert response.json()["limit_bytes"] == 2048


def test_streamed_oversized_body_is_refused(app_with_test_routes: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(10):
            yield b" " * 512
        yield b"}"

    response = app_with_test_routes.post(
        "/test/echo", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_small_body_passes(app_with_test_routes: TestClient) -> None:
    assert app_with_test_routes.post("/test/echo", json={"a": 1}).json() == {"a": 1}


def test_security_headers_on_every_response(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/nope"), client.get("/")):
        headers = response.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["referrer-policy"] == "no-referrer"
        assert headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in headers  # issuer is http://127.0.0.1


def test_hsts_when_issuer_is_https(make_settings: Callable[..., Settings]) -> None:
    app = create_app(make_settings(issuer="https://id.example.gov.cn"))
    with TestClient(app) as https_client:
        assert "max-age=" in https_client.get("/healthz").headers["strict-transport-security"]


def test_request_id_is_echoed_when_well_formed(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    forged = client.get("/healthz", headers={"x-request-id": "bad id\r\nx: y"})
    assert forged.headers["x-request-id"] != "bad id\r\nx: y"
    assert len(forged.headers["x-request-id"]) == 32


def test_no_remote_assets_and_no_cdn_docs(client: TestClient) -> None:
    assert client.get("/docs").status_code == 404
    assert client.get("/openapi.json").status_code == 200
    page = client.get("/").text
    assert "http://" not in page
    assert "https://" not in page


def test_refused_body_still_gets_the_edge_headers(app_with_test_routes: TestClient) -> None:
    response = app_with_test_routes.post(
        "/test/echo",
        content=b"{" + b" " * 4096 + b"}",
        headers={"content-type": "application/json", "x-request-id": "big-1"},
    )
    assert response.status_code == 413
    assert response.headers["x-request-id"] == "big-1"
    assert response.json()["request_id"] == "big-1"
    assert response.headers["x-frame-options"] == "DENY"


def test_metrics_count_every_request_by_route_template(
    make_settings: Callable[..., Settings],
) -> None:
    token = strong_secret()
    with TestClient(create_app(make_settings(ops_token=token))) as client:
        for _ in range(3):
            client.get("/healthz")
        client.get("/no/such/thing")
        text = client.get("/metrics", headers={"authorization": f"Bearer {token}"}).text
    assert 'tongxing_http_requests_total{method="GET",route="/healthz",status="200"} 3.0' in text
    assert 'tongxing_http_requests_total{method="GET",route="unmatched",status="404"}' in text
    assert 'tongxing_http_request_duration_seconds_count{method="GET",route="/healthz"} 3.0' in text
