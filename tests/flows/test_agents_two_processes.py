"""经办人 delegation across two real app processes on one PostgreSQL and one Redis: an agent
authorised and revoked through the CLI, accepted and used through either process; the
revocation reaches both (refresh, userinfo, the organisation choice)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from idp.agents import CHOICE_PREFIX
from tests import oidc
from tests.in_process import tongxing
from tests.processes import running_server

pytestmark = pytest.mark.slow
USCC = oidc.USCC


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = tongxing(*args, env=env, stdin=stdin)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


def _set_up(env: dict[str, str]) -> str:
    """The agent zhangsan, the organisation's administrator boss, an app with refresh tokens;
    returns the id of the authorisation offered to zhangsan."""
    for login in ("zhangsan", "boss"):
        _cli(env, "users", "create", "--username", login, "--password-stdin",
             stdin=oidc.PASSWORD + "\n")  # fmt: skip
    _cli(
        env, "clients", "create", "--client-id", "permits",
        "--grant-type", "authorization_code", "--grant-type", "refresh_token",
        "--scope", "openid profile offline_access", "--redirect-uri", oidc.REDIRECT,
        "--first-party", "--client-secret-stdin", stdin=oidc.SECRET + "\n",
    )  # fmt: skip
    _cli(env, "orgs", "create", "--name", "某某科技有限公司", "--uscc", USCC)
    _cli(env, "orgs", "add-member", "--org", USCC, "--user", "boss", "--role", "admin")
    refused = tongxing(
        "orgs", "authorise-agent", "--org", USCC, "--user", "boss", "--as", "zhangsan", env=env
    )
    assert refused.returncode != 0 and "administrator" in refused.stderr
    return _cli(
        env, "orgs", "authorise-agent", "--org", USCC, "--user", "zhangsan",
        "--app", "permits", "--as", "boss",
    )  # fmt: skip


def _choice_page(browser: httpx.Client, base: str) -> str:
    request = oidc.Request(scope="openid", extra={"prompt": "select_account"})
    target = oidc.location(browser.get(base + request.url()))
    if not target.startswith("/login/organisation?"):
        return ""
    return browser.get(base + target).text


def test_revocation_reaches_every_process(shared_env: dict[str, str], tmp_path: Path) -> None:
    env = shared_env
    authorisation_id = _set_up(env)
    listed = tongxing("orgs", "agents", "--org", USCC, "--as", "boss", env=env)
    assert authorisation_id in listed.stdout and "offered" in listed.stdout
    choice = CHOICE_PREFIX + authorisation_id
    with (
        running_server("serve", env=env, cwd=tmp_path) as one,
        running_server("serve", env=env, cwd=tmp_path) as two,
        httpx.Client() as browser,
    ):
        # Sign in through process one; not yet accepted, so nothing to choose.
        request = oidc.Request(scope="openid")
        login_page = browser.get(
            one.base_url + oidc.location(browser.get(one.base_url + request.url()))
        )
        posted = browser.post(
            one.base_url + "/login",
            data={
                "interaction": oidc.hidden(login_page.text, "interaction"),
                "csrf_token": oidc.hidden(login_page.text, "csrf_token"),
                "login": "zhangsan",
                "password": oidc.PASSWORD,
            },
        )
        assert "code" in oidc.query(oidc.location(posted))
        assert _choice_page(browser, two.base_url) == ""
        # Accept on process two's account page.
        account = browser.get(two.base_url + "/account")
        accepted = browser.post(
            f"{two.base_url}/account/agents/{authorisation_id}/accept",
            data={"csrf_token": oidc.hidden(account.text, "csrf_token")},
        )
        assert oidc.location(accepted) == "/account?agent=done#agents"
        # Choose it on process one; redeem on process two.
        request = oidc.Request(scope="openid offline_access", extra={"prompt": "select_account"})
        target = oidc.location(browser.get(one.base_url + request.url()))
        page = browser.get(one.base_url + target).text
        assert f'value="{choice}"' in page
        chosen = browser.post(
            one.base_url + "/login/organisation",
            data={
                "interaction": oidc.hidden(page, "interaction"),
                "csrf_token": oidc.hidden(page, "csrf_token"),
                "organisation": choice,
            },
        )
        code = oidc.query(oidc.location(chosen))["code"]
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
        body = redeemed.json()
        org = oidc.jwt_claims(body["id_token"])["org"]
        assert org == {
            "code": USCC,
            "name": "某某科技有限公司",
            "role": "agent",
            "authorisation_id": authorisation_id,
        }
        bearer = {"authorization": f"Bearer {body['access_token']}"}
        assert httpx.get(one.base_url + "/userinfo", headers=bearer).json()["org"] == org

        # The organisation's administrator revokes it from the command line.
        revoked = tongxing(
            "orgs", "revoke-agent", "--org", USCC, "--id", authorisation_id, "--as", "boss",
            env=env,
        )  # fmt: skip
        assert revoked.returncode == 0, revoked.stderr
        assert "TONGXING_REDIS_URL" not in revoked.stderr  # the servers' store was reached
        # Both processes refuse the access token at once, the refresh fails on either.
        for server in (one, two):
            assert httpx.get(server.base_url + "/userinfo", headers=bearer).status_code == 401
        refreshed = httpx.post(
            one.base_url + "/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
            headers=oidc.basic("permits"),
        )
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
        # The choice is gone on both processes; the session acts for the person alone.
        assert _choice_page(browser, two.base_url) == ""
        assert _choice_page(browser, one.base_url) == ""
        plain = oidc.Request(scope="openid")
        code = oidc.query(oidc.location(browser.get(two.base_url + plain.url())))["code"]
        tokens = httpx.post(
            one.base_url + "/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": plain.redirect_uri,
                "code_verifier": plain.verifier,
            },
            headers=oidc.basic("permits"),
        ).json()
        assert "org" not in oidc.jwt_claims(tokens["id_token"])
    listed = tongxing("orgs", "agents", "--org", USCC, "--as", "boss", "--json", env=env)
    assert '"status": "revoked"' in listed.stdout
