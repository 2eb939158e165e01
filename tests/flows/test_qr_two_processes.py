"""QR sign-in across two real app processes on one PostgreSQL and one Redis: the desktop
waits on process 1, the phone approves on process 2, and the desktop's long-poll answers
within about two seconds of the approval."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests import oidc
from tests.in_process import add_person_and_app
from tests.processes import running_server

pytestmark = pytest.mark.slow
LATENCY_LIMIT = 10.0


def test_the_phone_approves_on_one_process_and_the_desktop_continues_on_the_other(
    shared_env: dict[str, str],
    tmp_path: Path,
) -> None:
    env = shared_env
    add_person_and_app(env)
    with (
        running_server("serve", env=env, cwd=tmp_path) as one,
        running_server("serve", env=env, cwd=tmp_path) as two,
        httpx.Client(base_url=one.base_url, timeout=40) as desktop,
        httpx.Client(base_url=two.base_url, timeout=40) as phone,
    ):
        # The phone is signed in (on process 2).
        phone_request = oidc.Request(scope="openid profile")
        login = phone.get(oidc.location(phone.get(phone_request.url())))
        signed_in = phone.post(
            "/login",
            data={
                "interaction": oidc.hidden(login.text, "interaction"),
                "csrf_token": oidc.hidden(login.text, "csrf_token"),
                "login": "zhangsan",
                "password": oidc.PASSWORD,
            },
        )
        assert "code" in oidc.query(oidc.location(signed_in))

        # The desktop's sign-in page and its QR code (on process 1).
        request = oidc.Request(scope="openid profile")
        page = desktop.get(oidc.location(desktop.get(request.url())))
        form = {
            "interaction": oidc.hidden(page.text, "interaction"),
            "csrf_token": oidc.hidden(page.text, "csrf_token"),
        }
        qr = desktop.post("/login/qr", data=form).json()
        path = urlsplit(qr["url"]).path

        def wait(seen: str) -> tuple[str, float]:
            answer = desktop.get(
                f"/login/qr/{qr['id']}/wait",
                params={"seen": seen},
                headers={"X-QR-Token": qr["token"]},
            )
            assert answer.status_code == 200, answer.text
            return str(answer.json()["state"]), time.monotonic()

        with ThreadPoolExecutor(max_workers=1) as pool:
            scanning = pool.submit(wait, "pending")
            time.sleep(0.5)  # the desktop is waiting on process 1
            scanned_page = phone.get(path)  # process 2
            assert scanned_page.status_code == 200, scanned_page.text[:300]
            assert scanning.result(timeout=30)[0] == "scanned"

            waiting = pool.submit(wait, "scanned")
            time.sleep(1.0)
            approving_at = time.monotonic()
            approved = phone.post(
                path,
                data={
                    "csrf_token": oidc.hidden(scanned_page.text, "csrf_token"),
                    "number": qr["number"],
                },
            )
            approved_at = time.monotonic()
            assert approved.status_code == 200, approved.text[:300]
            state, answered_at = waiting.result(timeout=30)
        assert state == "approved"
        # The answer comes after the phone asked to approve and at most ~2 s after its
        # approval was answered (it may come first: the state is stored before the audit
        # entry is written and the phone's page rendered).
        latency = answered_at - approved_at
        print(
            f"QR approval: phone's request took {(approved_at - approving_at) * 1000:.0f} ms; "
            f"the desktop's long-poll answered {latency * 1000:.0f} ms after it returned"
        )
        assert approving_at < answered_at and latency < LATENCY_LIMIT, latency

        finished = desktop.post(f"/login/qr/{qr['id']}/finish", data={**form, "token": qr["token"]})
        code = oidc.query(oidc.location(finished))["code"]
        tokens = httpx.post(
            two.base_url + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.redirect_uri,
                "code_verifier": request.verifier,
            },
            headers=oidc.basic("permits"),
        )
        assert tokens.status_code == 200, tokens.text
        claims = oidc.jwt_claims(tokens.json()["id_token"])
        assert claims["amr"] == ["pwd"]  # the phone's methods
        # Used once: the same code again fails on either process.
        assert desktop.get(
            f"/login/qr/{qr['id']}/wait",
            params={"seen": "-"},
            headers={"X-QR-Token": qr["token"]},
        ).json() == {"state": "used"}
