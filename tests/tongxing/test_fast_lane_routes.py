"""The app's fast lane answers exactly as the framework would: each short-cut is a documented
route, and the same requests with the lane switched off get the same answers."""

from __future__ import annotations

import base64
import functools
import inspect
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from core.api import health
from core.api.deps import runtime_of
from core.services import Services
from idp import clients as registry
from idp.api import discovery, token, userinfo
from keys.api import jwks
from tongxing.app import TongxingApp
from tongxing.composition import Domain

SECRET = "lane secret with + and % in it"
VARYING = {"x-request-id", "date", "content-length"}


@pytest.fixture
def app(client: TestClient) -> TongxingApp:
    found = client.app
    assert isinstance(found, TongxingApp)
    domain: Domain = runtime_of(found).get(Domain)
    with domain.keys.database.transaction() as session:
        registry.register(
            session,
            data_keys=domain.data_keys,
            events=domain.audit,
            client_id="lane-machine",
            name="lane-machine",
            grant_types=["client_credentials"],
            scopes=["seal:sign"],
            actor="t",
            auth_method="client_secret_basic",
            secret=SECRET,
        )
    return found


def _basic(secret: str = SECRET) -> dict[str, str]:
    raw = base64.b64encode(f"lane-machine:{secret}".encode()).decode()
    return {"authorization": f"Basic {raw}"}


FORM = {"content-type": "application/x-www-form-urlencoded"}
REQUESTS: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", "/healthz", {}, ""),
    ("GET", "/jwks", {}, ""),
    ("GET", "/jwks", {"if-none-match": "*"}, ""),
    ("GET", "/.well-known/openid-configuration", {}, ""),
    ("GET", "/.well-known/oauth-authorization-server", {"if-none-match": '"other"'}, ""),
    ("POST", "/token", {**FORM, **_basic()}, "grant_type=client_credentials"),
    ("POST", "/token", {**FORM, **_basic("wrong")}, "grant_type=client_credentials"),
    ("POST", "/token", {**FORM, **_basic()}, "grant_type=password"),
    ("POST", "/token", {**FORM, **_basic()}, "grant_type=client_credentials&scope=a&scope=b"),
    ("POST", "/token", {"content-type": "application/json", **_basic()}, "{}"),
    ("GET", "/userinfo", {}, ""),
    ("GET", "/userinfo", {"authorization": "Bearer not-a-token"}, ""),
    ("POST", "/userinfo", FORM, "access_token=not-a-token"),
]


def _answer(client: TestClient, method: str, path: str, headers: dict[str, str], body: str) -> Any:
    response = client.request(method, path, headers=headers, content=body or None)
    shown = {k: v for k, v in response.headers.items() if k not in VARYING}
    content: Any = response.content
    if response.headers.get("content-type", "").endswith("json") and path == "/token":
        content = response.json()
        if "access_token" in content:  # a fresh token each time: compare its shape
            content = {**content, "access_token": len(content["access_token"].split("."))}
    return response.status_code, shown, content


def test_every_short_cut_is_a_documented_route(app: TongxingApp) -> None:
    documented = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    short_cuts = {(route.method, route.path) for route in app.lane.routes()}
    assert short_cuts and short_cuts <= documented


# The function behind each short-cut route (the router's decorator returns the function
# itself); a new short-cut must be listed here.
ROUTE_FUNCTIONS: dict[tuple[str, str], Callable[..., Any]] = {
    ("GET", "/healthz"): health.healthz,
    ("GET", "/jwks"): jwks.jwks,
    ("GET", "/.well-known/openid-configuration"): discovery.openid_configuration,
    ("GET", "/.well-known/oauth-authorization-server"): discovery.oauth_metadata,
    ("POST", "/token"): token.token,
    ("GET", "/userinfo"): userinfo.get_userinfo,
    ("POST", "/userinfo"): userinfo.get_userinfo,
}


def test_every_short_cut_binds_what_its_route_declares(app: TongxingApp) -> None:
    """The lane calls a route's function with the request and the services bound in
    ``tongxing.app._fast_lane``: a parameter the route gains (a dependency: a check, a limit)
    must be bound there too, or the lane would answer without it."""
    assert {(r.method, r.path) for r in app.lane.routes()} == set(ROUTE_FUNCTIONS)
    for short_cut in app.lane.routes():
        function = ROUTE_FUNCTIONS[(short_cut.method, short_cut.path)]
        declared = set(inspect.signature(function).parameters)
        handler = short_cut.endpoint
        bound = set(handler.keywords) if isinstance(handler, functools.partial) else set()
        assert declared == {"request"} | bound, (short_cut.method, short_cut.path)


def test_the_lane_answers_as_the_framework_does(client: TestClient, app: TongxingApp) -> None:
    lane_edge = app.lane_edge
    assert lane_edge is not None
    laned: list[str] = []

    async def counting(scope: Scope, receive: Receive, send: Send) -> None:
        laned.append(scope["path"])
        assert lane_edge is not None
        await lane_edge(scope, receive, send)

    for method, path, headers, body in REQUESTS:
        app.lane_edge = counting
        try:
            through_lane = _answer(client, method, path, headers, body)
            app.lane_edge = None  # every request the normal way
            through_framework = _answer(client, method, path, headers, body)
        finally:
            app.lane_edge = lane_edge
        assert through_lane == through_framework, (method, path, headers, body)
    assert laned == [path for _, path, _, _ in REQUESTS]  # each went through the lane once


def test_lane_answers_carry_the_edge(client: TestClient, app: TongxingApp) -> None:
    answer = client.get("/jwks", headers={"x-request-id": "lane-jwks"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "lane-jwks"
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["cache-control"] == "public, max-age=300"  # the endpoint's own
    again = client.get("/jwks", headers={"if-none-match": answer.headers["etag"]})
    assert again.status_code == 304
    metrics = runtime_of(app).get(Services).metrics_registry
    labels = {"method": "GET", "route": "/jwks"}
    assert metrics.get_sample_value("tongxing_http_requests_total", {**labels, "status": "304"})
    assert client.post("/jwks").status_code == 405  # not short-cut: the framework's answer
    assert client.get("/jwks/", follow_redirects=False).status_code in {404, 307}
