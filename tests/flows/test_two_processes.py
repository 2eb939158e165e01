"""Two real app processes on one PostgreSQL and one Redis behave as one service."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import oidc
from tests.in_process import add_person_and_app
from tests.processes import Server, running_server

pytestmark = pytest.mark.slow


def _instances(server: Server, env: dict[str, str]) -> list[dict[str, Any]]:
    auth = {"authorization": f"Bearer {env['TONGXING_OPS_TOKEN']}"}
    response = httpx.get(server.base_url + "/ops/v1/instances", headers=auth)
    assert response.status_code == 200, response.text
    instances: list[dict[str, Any]] = response.json()["instances"]
    return instances


def test_state_written_through_one_process_is_served_by_the_other(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    env = shared_env
    with running_server("serve", env=env, cwd=tmp_path) as one:
        with running_server("serve", env=env, cwd=tmp_path) as two:
            listing_one = _instances(one, env)
            listing_two = _instances(two, env)
            # Each process's registration (SQL) and heartbeat (Redis) is visible to the other.
            assert {i["id"] for i in listing_one} == {i["id"] for i in listing_two}
            assert len(listing_one) == 2
            assert all(i["live"] for i in listing_one + listing_two)
            assert [i["pid"] for i in listing_one if i["this"]] == [one.process.pid]
            assert [i["pid"] for i in listing_two if i["this"]] == [two.process.pid]
        # uvicorn re-raises SIGTERM after its graceful shutdown completes.
        assert two.process.returncode in (0, -15)
        assert "Application shutdown complete" in two.log.read_text()
        # The second process deregistered on SIGTERM; the first sees it at once.
        by_pid = {i["pid"]: i for i in _instances(one, env)}
        assert by_pid[two.process.pid]["live"] is False
        assert by_pid[two.process.pid]["stopped_at"] is not None
        assert by_pid[one.process.pid]["live"] is True


def test_serve_with_two_workers_shares_the_store(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    with running_server("serve", "--workers", "2", env=shared_env, cwd=tmp_path) as server:
        live: list[dict[str, Any]] = []
        deadline = time.monotonic() + 90  # /readyz answers once one worker is up, not both
        while time.monotonic() < deadline:
            live = [i for i in _instances(server, shared_env) if i["live"]]
            if len(live) == 2:
                break
            time.sleep(0.2)
        assert len(live) == 2
        assert len({i["pid"] for i in live}) == 2
        assert server.process.pid not in {i["pid"] for i in live}  # the workers, not the parent


def test_sign_in_through_one_process_continue_through_the_other(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    """The SSO session, interactions and codes live in Redis: any process continues them."""

    env = shared_env
    add_person_and_app(env)
    with (
        running_server("serve", env=env, cwd=tmp_path) as one,
        running_server("serve", env=env, cwd=tmp_path) as two,
        httpx.Client() as browser,
    ):
        request = oidc.Request(scope="openid profile")
        started = browser.get(one.base_url + request.url())
        login_page = browser.get(two.base_url + oidc.location(started))  # the other process
        posted = browser.post(
            one.base_url + "/login",
            data={
                "interaction": oidc.hidden(login_page.text, "interaction"),
                "csrf_token": oidc.hidden(login_page.text, "csrf_token"),
                "login": "zhangsan",
                "password": oidc.PASSWORD,
            },
        )
        code = oidc.query(oidc.location(posted))["code"]
        token_form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": request.redirect_uri,
            "code_verifier": request.verifier,
        }
        redeemed = httpx.post(
            two.base_url + "/token", data=token_form, headers=oidc.basic("permits")
        )
        assert redeemed.status_code == 200, redeemed.text
        replay = httpx.post(one.base_url + "/token", data=token_form, headers=oidc.basic("permits"))
        assert replay.json()["error"] == "invalid_grant"
        silent = oidc.Request(scope="openid profile", extra={"prompt": "none"})
        answer = oidc.query(oidc.location(browser.get(two.base_url + silent.url())))
        assert "code" in answer, answer
        access = redeemed.json()["access_token"]
        info = httpx.get(two.base_url + "/userinfo", headers={"authorization": f"Bearer {access}"})
        assert info.status_code == 401  # the replay on process one revoked the grant


def test_sealing_through_one_process_is_one_service_with_the_other(
    shared_env: dict[str, str], tmp_path: Path
) -> None:
    """Grants are counted in PostgreSQL, idempotency keys live in Redis, the audit log is
    shared: a retry on the other process gets the same document, not a second seal."""
    from tests.seal.world import CLIENT_ID, SECRET, SYSADMIN, cli, set_up_with_cli
    from tongxing.demo_sealing import sample_permit

    env = shared_env
    seal_id = set_up_with_cli(env)
    cli(
        "grants",
        "create",
        "--client-id",
        CLIENT_ID,
        "--seal",
        seal_id,
        "--approved-by",
        "officer",
        "--max-uses",
        "2",
        "--as",
        SYSADMIN,
        env=env,
    )
    with (
        running_server("serve", env=env, cwd=tmp_path) as one,
        running_server("serve", env=env, cwd=tmp_path) as two,
    ):
        token = httpx.post(
            one.base_url + "/token",
            data={"grant_type": "client_credentials", "scope": "seal:sign"},
            auth=(CLIENT_ID, SECRET),
        ).json()["access_token"]

        def seal(server: Server, key: str) -> httpx.Response:
            return httpx.post(
                server.base_url + "/seal/v1/sign",
                headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                files={"file": ("permit.pdf", sample_permit(), "application/pdf")},
                data={"seal_id": seal_id, "anchor": "（盖章）"},
                timeout=30,
            )

        first = seal(one, "case-1")
        retried = seal(two, "case-1")
        assert first.status_code == retried.status_code == 200, first.text
        assert retried.content == first.content
        assert retried.headers["idempotency-replayed"] == "true"
        assert seal(two, "case-2").status_code == 200
        used_up = seal(one, "case-3")  # the grant allowed two seals, counted in PostgreSQL
        assert used_up.json()["type"] == "urn:tongxing:problem:grant-exhausted"
        report = httpx.post(
            two.base_url + "/seal/v1/verify",
            files={"file": ("permit.pdf", first.content, "application/pdf")},
        ).json()
        assert report["indication"] == "TOTAL_PASSED"
        assert report["signatures"][0]["audit_log"]["verified"]
