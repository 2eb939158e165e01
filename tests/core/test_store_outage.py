"""A store (Redis) outage: 503 with Retry-After (``temporarily_unavailable`` at /authorize),
one log line when it starts and one when it ends, and service resumes by itself."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from core.settings import Settings
from tests import oidc
from tests.processes import free_port
from tongxing import create_app


class RedisServer:
    """A throwaway redis-server on one port that can be stopped (by PID) and started again."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        probe = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    probe.ping()
                    return
                except redis.RedisError:
                    time.sleep(0.05)
            raise RuntimeError("redis-server did not start")
        finally:
            probe.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:tongxing:problem:store-unavailable"


def test_an_outage_is_a_503_logged_once_and_service_resumes(
    make_settings: Callable[..., Settings],
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = make_settings(redis_url=f"redis://127.0.0.1:{redis_server.port}/0")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        domain = oidc.domain_of(client)
        oidc.add_person(domain)
        oidc.add_rp(domain, first_party=True)
        request = oidc.Request()
        tokens: dict[str, Any] = oidc.redeem(
            client, request, oidc.sign_in(client, request)["code"]
        ).json()
        bearer = {"authorization": f"Bearer {tokens['access_token']}"}
        client.cookies.clear()
        login_page = client.get(oidc.Request().url(), follow_redirects=True).text

        redis_server.stop()
        caplog.clear()
        with caplog.at_level(logging.INFO):
            again = oidc.Request()
            answer = client.get(again.url(), follow_redirects=False)
            target = oidc.query(oidc.location(answer))
            assert target["error"] == "temporarily_unavailable"
            assert target["state"] == again.state
            _unavailable(oidc.submit_login(client, login_page))
            for _ in range(5):
                _unavailable(client.get("/userinfo", headers=bearer))
            _unavailable(
                client.post(
                    "/token",
                    data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
                    headers=oidc.basic("permits"),
                )
            )
            assert client.get("/readyz").status_code == 503
        problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert problems == ["store unavailable"], problems
        assert not any(r.exc_info for r in caplog.records)

        redis_server.start()  # an empty Redis: sessions are gone, tokens in SQL still work
        with caplog.at_level(logging.INFO):
            assert client.get("/userinfo", headers=bearer).status_code == 200
        assert "store available again" in [r.getMessage() for r in caplog.records]
        client.cookies.clear()
        assert oidc.sign_in(client, oidc.Request())["code"]
