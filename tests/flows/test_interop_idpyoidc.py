"""Interop: a relying-party library we did not write (IdentityPython's idpyoidc) runs the
whole flow against our provider on a real uvicorn server — discovery, JWKS, PKCE, sign-in,
code exchange, ID-token validation, userinfo, refresh, RP-initiated logout.

What idpyoidc checks itself: discovery (issuer match), state, RFC 9207 ``iss`` when present,
the ID token's signature against our JWKS, ``iss``, ``aud``, ``exp``, ``iat``, ``nonce``, the
pinned ``alg``; userinfo ``sub`` = ID token ``sub``. What it does not (so we assert it):
that ``iss`` is present, ``at_hash``, the header ``kid``, OIDC Core §12.2 on refresh.

idpyoidc also holds us to Discovery §3 (RS256 must be offered): our discovery document is
used as it is, no check relaxed.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from cryptojwt.jws.jws import factory as jws_factory
from idpyoidc.client.oauth2.stand_alone_client import StandAloneClient
from idpyoidc.message.oauth2 import is_error_message

from tests.conftest import strong_secret
from tests.in_process import tongxing
from tests.processes import Server, free_port, running_server

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
SECRET = "interop-secret-0123456789abcdef"
RP = "http://127.0.0.1:9"  # nothing listens there: we only read Location headers
REDIRECT = f"{RP}/cb"
SIGNED_OUT = f"{RP}/signed-out"


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _half_sha256(value: str) -> str:
    digest = hashlib.sha256(value.encode()).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def provider(tmp_path: Path) -> Iterator[Server]:
    """Our provider on uvicorn (embedded configuration), with a person and a client."""
    port = free_port()
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
        "TONGXING_OPS_TOKEN": strong_secret(),
    }
    for command, stdin in (
        (("db", "upgrade"), None),
        (("keys", "init"), None),
        (
            ("users", "create", "--username", "zhangsan", "--name", "张三", "--password-stdin"),
            PASSWORD,
        ),
        (
            (
                "clients",
                "create",
                "--client-id",
                "interop-rp",
                "--name",
                "Interop RP",
                "--grant-type",
                "authorization_code",
                "--grant-type",
                "refresh_token",
                "--scope",
                "openid profile email",
                "--redirect-uri",
                REDIRECT,
                "--post-logout-redirect-uri",
                SIGNED_OUT,
                "--client-secret-stdin",
            ),
            SECRET,
        ),
    ):
        done = tongxing(*command, env=env, stdin=stdin + "\n" if stdin else None)
        assert done.returncode == 0, done.stderr
    with running_server("serve", env=env, cwd=tmp_path, port=port) as server:
        yield server


def _client(issuer: str) -> StandAloneClient:
    return StandAloneClient(
        config={
            "client_type": "oidc",
            "client_id": "interop-rp",
            "client_secret": SECRET,
            "redirect_uris": [REDIRECT],
            "post_logout_redirect_uris": [SIGNED_OUT],
            "token_endpoint_auth_method": "client_secret_basic",
            "client_authn_methods": ["client_secret_basic"],
            "response_types": ["code"],
            "provider_info": {"issuer": issuer},  # issuer only: discovery really runs
            "services": {
                "discovery": {
                    "class": "idpyoidc.client.oidc.provider_info_discovery.ProviderInfoDiscovery"
                },
                "authorization": {"class": "idpyoidc.client.oidc.authorization.Authorization"},
                "access_token": {"class": "idpyoidc.client.oidc.access_token.AccessToken"},
                "refresh_access_token": {
                    "class": "idpyoidc.client.oidc.refresh_access_token.RefreshAccessToken"
                },
                "userinfo": {"class": "idpyoidc.client.oidc.userinfo.UserInfo"},
                "end_session": {"class": "idpyoidc.client.oidc.end_session.EndSession"},
            },
            "add_ons": {
                "pkce": {
                    "function": "idpyoidc.client.oauth2.add_on.pkce.add_support",
                    "kwargs": {"code_challenge_length": 64, "code_challenge_method": "S256"},
                }
            },
        }
    )


def _sign_in(browser: httpx.Client, authorize_url: str) -> str:
    """Play the browser on our pages: sign in, allow, return the redirect to the RP."""
    response = browser.get(authorize_url)
    for _ in range(6):
        target = response.headers["location"]
        if target.startswith(RP):
            return str(target)
        page = browser.get(target)
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action, page.text[:300]
        if "password" in page.text:
            form.update(login="zhangsan", password=PASSWORD)
        else:
            form["decision"] = "allow"
        response = browser.post(action.group(1), data=form)
        assert response.status_code in (302, 303), response.text[:300]
    raise AssertionError("did not get back to the RP")


def test_idpyoidc_runs_the_whole_flow(provider: Server) -> None:
    issuer = provider.base_url
    client = _client(issuer)
    assert client.do_provider_info() == issuer
    client.do_client_registration()  # preregistered: no HTTP
    context = client.get_context()
    context.registration_response = {"id_token_signed_response_alg": "ES256"}  # pin the alg
    keys = client.get_attribute("keyjar").get_issuer_keys(issuer)
    assert keys, "the JWKS was not fetched"

    authorize_url = client.init_authorization(req_args={"scope": ["openid", "profile", "email"]})
    params = _query(authorize_url)
    assert params["code_challenge_method"] == "S256"
    with httpx.Client(base_url=issuer) as browser:
        callback = _sign_in(browser, authorize_url)
        callback_params = _query(callback)
        assert callback_params["iss"] == issuer  # RFC 9207: present (the library only compares)
        response = client.finalize_auth(callback_params)
        assert not is_error_message(response), response.to_dict()
        state = callback_params["state"]

        tokens = client.get_tokens(state)  # the library validates the ID token here
        claims = tokens["__verified_id_token"].to_dict()
        header = jws_factory(tokens["id_token"]).jwt.headers
        assert header["alg"] == "ES256"
        assert header["kid"] in {k.kid for k in keys}
        assert claims["nonce"] == params["nonce"]
        assert claims["at_hash"] == _half_sha256(tokens["access_token"])

        userinfo = client.get_user_info(state).to_dict()  # the library checks sub
        assert userinfo["name"] == "张三"

        refreshed = client.refresh_access_token(state)
        assert refreshed["refresh_token"] != tokens["refresh_token"]  # rotated
        again = refreshed["__verified_id_token"].to_dict()
        for claim in ("iss", "sub", "aud", "auth_time"):  # OIDC Core §12.2
            assert again[claim] == claims[claim]
        info = client.get_user_info(state, access_token=refreshed["access_token"])
        assert info["sub"] == claims["sub"]

        logout = client.logout(state, post_logout_redirect_uri=SIGNED_OUT)
        logout_params = _query(logout["url"])
        signed_out = browser.get(logout["url"])
        assert signed_out.headers["location"] == f"{SIGNED_OUT}?state={logout_params['state']}"
        silent = browser.get(client.init_authorization(req_args={"prompt": "none"}))
        assert _query(silent.headers["location"])["error"] == "login_required"
