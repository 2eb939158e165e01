"""The upstream round trip across two real app processes (one PostgreSQL, one Redis): the
sign-in starts on one process, the upstream's callback lands on the other (the state lives
in the shared store), and the app's code is redeemed there."""

from __future__ import annotations

import html
import re
from pathlib import Path

import httpx
import pytest

from tests import oidc
from tests.flows.test_upstream_federation import PEER_PASSWORD, ZH_BUTTON, Browser, _button
from tests.in_process import add_person_and_app, tongxing
from tests.processes import free_port, running_server
from tests.upstream_peer import running_peer

pytestmark = pytest.mark.slow
SECRET = "province-client-secret-two-processes"


def test_the_callback_lands_on_another_process(shared_env: dict[str, str], tmp_path: Path) -> None:
    port_two = free_port()
    env = {**shared_env, "TONGXING_ISSUER": f"http://127.0.0.1:{port_two}"}
    add_person_and_app(env)
    with (
        running_server("serve", env=env, cwd=tmp_path) as one,
        running_server("serve", env=env, cwd=tmp_path, port=port_two) as two,
        running_peer(
            port=free_port(),
            rp_base=two.base_url,
            upstream_id="province",
            client_secret=SECRET,
            log=tmp_path / "peer.log",
        ) as peer,
    ):
        created = tongxing(
            "upstreams", "create", "--id", "province",
            "--name-zh", "省统一身份认证平台", "--name-en", "the Provincial Identity Platform",
            "--discovery-url", f"{peer.issuer}/.well-known/openid-configuration",
            "--client-id", "tongxing", "--scope", "openid profile",
            "--acr", "urn:province:loa:2=2",
            env=env, stdin=SECRET + "\n",
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        browser = Browser()
        request = oidc.Request(scope="openid profile")
        page = browser.get(one.base_url + request.url())
        assert str(page.url).startswith(one.base_url + "/login?")
        form = browser.get(one.base_url + _button(page, ZH_BUTTON))
        action = re.search(r'action="([^"]+)"', form.text)
        assert action
        answer = browser.http.post(
            peer.issuer + html.unescape(action.group(1)),
            data={"login": "wang", "password": PEER_PASSWORD},
        )
        seen = []
        while answer.status_code in (302, 303) and answer.headers["location"].startswith(
            "http://127."
        ):
            seen.append(answer.headers["location"])
            answer = browser.http.get(answer.headers["location"])
        assert any(u.startswith(two.base_url + "/login/upstream/province/callback") for u in seen)
        assert answer.status_code in (302, 303), answer.text[:500]
        code = oidc.query(answer.headers["location"])["code"]
        redeemed = httpx.post(
            two.base_url + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": request.redirect_uri,
                "code_verifier": request.verifier,
            },
            headers=oidc.basic("permits"),
        )
        assert redeemed.status_code == 200, redeemed.text
        claims = oidc.jwt_claims(redeemed.json()["id_token"])
        assert claims["amr"] == ["fed"] and claims["acr"] == "urn:tongxing:loa:1"
