"""The fast lane on its own: exact matches only, errors answered by the app's handlers or
left to the edge (logged, 500 problem with the request id), the edge around every answer."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest
from prometheus_client import CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from core.edge import EdgeMiddleware
from core.fast_lane import FastLane
from core.metrics import HttpMetrics


class Refused(Exception):
    """An error the app has a handler for."""


class NarrowlyRefused(Refused):
    """A subclass: found through the handler of its base class."""


async def ok(request: Request) -> Response:
    return PlainTextResponse(f"lane {request.method} {request.url.path}")


async def refuse(request: Request) -> Response:
    raise NarrowlyRefused("no")


async def crash(request: Request) -> Response:
    raise RuntimeError("database password is hunter2")


async def on_refused(request: Request, exc: Exception) -> Response:
    return JSONResponse({"refused": str(exc)}, status_code=409)


async def on_anything(request: Request, exc: Exception) -> Response:  # never used by the lane
    return PlainTextResponse("catch-all", status_code=599)


class Harness:
    """A lane and, for everything it does not match, a stand-in for the framework."""

    def __init__(self) -> None:
        self.lane = FastLane()
        self.lane.add("GET", "/ok", ok)
        self.lane.add("POST", "/refuse", refuse)
        self.lane.add("GET", "/crash", crash)
        self.lane.use_exception_handlers(
            {Refused: on_refused, Exception: on_anything, 500: on_anything}
        )
        self.registry = CollectorRegistry()
        self.edge = EdgeMiddleware(
            self.lane, https=False, limit=1024, metrics=HttpMetrics(self.registry)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.lane.match(scope)
        if route is None:
            await PlainTextResponse("framework", status_code=404)(scope, receive, send)
            return
        scope["route"] = route
        await self.edge(scope, receive, send)


@pytest.fixture
def harness() -> Harness:
    return Harness()


def _request(
    harness: Harness, method: str, path: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=harness, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            return await http.request(method, path, headers=headers)

    return asyncio.run(run())


def test_the_lane_answers_its_routes_inside_the_edge(harness: Harness) -> None:
    answer = _request(harness, "GET", "/ok?x=1", headers={"x-request-id": "lane-1"})
    assert answer.status_code == 200
    assert answer.text == "lane GET /ok"
    assert answer.headers["x-request-id"] == "lane-1"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"
    labels = {"method": "GET", "route": "/ok", "status": "200"}
    assert harness.registry.get_sample_value("tongxing_http_requests_total", labels) == 1


@pytest.mark.parametrize(("method", "path"), [("POST", "/ok"), ("GET", "/ok/"), ("HEAD", "/ok")])
def test_anything_but_an_exact_match_takes_the_normal_way(
    harness: Harness, method: str, path: str
) -> None:
    answer = _request(harness, method, path)
    assert answer.status_code == 404
    assert "x-request-id" not in answer.headers  # the stand-in framework, not the lane's edge


def test_errors_with_a_handler_are_answered_by_it(harness: Harness) -> None:
    answer = _request(harness, "POST", "/refuse")
    assert answer.status_code == 409
    assert answer.json() == {"refused": "no"}
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_other_errors_reach_the_edge(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="tongxing.errors")
    answer = _request(harness, "GET", "/crash", headers={"x-request-id": "lane-2"})
    # The edge's generic 500, not the catch-all handler registered for Exception.
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["request_id"] == "lane-2"
    assert "hunter2" not in answer.text
    assert any(r.message == "unhandled error" for r in caplog.records)
