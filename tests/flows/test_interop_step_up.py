"""Interop, step-up: a relying-party library we did not write (idpyoidc) asks a session
signed in with a password (level 2) for level 3, with ``acr_values`` or an essential ``acr``
in the ``claims`` parameter, against our provider on a real uvicorn server.

The scripted browser keeps its cookies: it gets the factor page, never the password page
again, answers a TOTP code, and the ID token the library validates carries ``acr`` level 3,
``amr`` ``pwd otp mfa`` and a newer ``auth_time``. A level that cannot be reached (4 without
a passkey; 3 for a self-declared name) comes back to the library as
``unmet_authentication_requirements`` with the request's ``state``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from idpyoidc.client.oauth2.stand_alone_client import StandAloneClient
from idpyoidc.message.oauth2 import is_error_message

from core.database import Database
from core.settings import load_settings
from idp import assurance, repository
from tests import factors
from tests.conftest import strong_secret
from tests.flows.test_interop_idpyoidc import PASSWORD, RP, SECRET, _client, _query
from tests.in_process import tongxing
from tests.processes import Server, free_port, running_server
from tongxing import preflight
from tongxing.composition import build_domain

pytestmark = pytest.mark.slow

LOA = assurance.acr
REDIRECT = f"{RP}/cb"
# login -> (proofing level, TOTP authenticators)
PEOPLE = {"zhangsan": (4, True), "lisi": (1, True)}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Our provider on uvicorn (embedded configuration), a client, a person proofed at 4
    and a self-declared one, both with TOTP authenticators; one for the module (each test
    signs in with a browser of its own; every TOTP answer uses an unspent code)."""
    tmp_path = tmp_path_factory.mktemp("step-up")
    port = free_port()
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
        "TONGXING_OPS_TOKEN": strong_secret(),
    }
    commands: list[tuple[tuple[str, ...], str | None]] = [
        (("db", "upgrade"), None),
        (("keys", "init"), None),
    ]
    for login, (level, _) in PEOPLE.items():
        command = ("users", "create", "--username", login, "--proofing-level", str(level))
        commands.append(((*command, "--password-stdin"), PASSWORD))
    commands.append(
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
                "--scope",
                "openid profile",
                "--redirect-uri",
                REDIRECT,
                "--first-party",  # no consent page: the pages shown are the sign-in's
                "--client-secret-stdin",
            ),
            SECRET,
        )
    )
    for command, stdin in commands:
        done = tongxing(*command, env=env, stdin=stdin + "\n" if stdin else None)
        assert done.returncode == 0, done.stderr
    _enrol_totp(env, [login for login, (_, totp) in PEOPLE.items() if totp])
    with running_server("serve", env=env, cwd=tmp_path, port=port) as server:
        yield server


def _enrol_totp(env: dict[str, str], logins: list[str]) -> None:
    """TOTP authenticators for ``logins``, in the server's database (what an operator's
    enrolment does), whose codes :mod:`tests.factors` answers."""
    settings = preflight.prepare_settings(load_settings(env))
    database = Database(settings.resolved_database_url)
    domain = build_domain(settings=settings, database=database)
    try:
        assert domain.keys.custody.open(create=False)
        for login in logins:
            with database.reading() as session:
                user = repository.user_by_login(session, login)
                assert user is not None
                user_id = user.id
            factors.enrol_totp(domain, user_id)
            _USER_IDS[login] = user_id
    finally:
        domain.close()
        database.dispose()


_USER_IDS: dict[str, str] = {}


class Browser:
    """A person's browser on our pages (cookies kept): what it was shown, step by step."""

    def __init__(self, http: httpx.Client, login: str) -> None:
        self.http, self.login = http, login
        self.pages: list[str] = []  # the paths of the pages shown

    def authorize(self, url: str) -> dict[str, str]:
        """Follow the request through our pages back to the RP; the callback's query."""
        response = self.http.get(url)
        for _ in range(6):
            target = response.headers["location"]
            if target.startswith(RP):
                return _query(str(target))
            page = self.http.get(target)
            self.pages.append(target.split("?", 1)[0])
            form = dict(
                re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)
            )
            action = re.search(r'<form method="post" action="([^"]+)"', page.text)
            assert action, page.text[:300]
            if action.group(1) == "/login/factor/totp":
                assert 'name="password"' not in page.text  # the password is not asked again
                form["code"] = factors.next_code(_USER_IDS[self.login])
            elif 'name="password"' in page.text:
                form.update(login=self.login, password=PASSWORD)
            else:
                form["decision"] = "allow"
            response = self.http.post(action.group(1), data=form)
            assert response.status_code in (302, 303), response.text[:300]
        raise AssertionError("did not get back to the RP")


def _signed_in(client: StandAloneClient, browser: Browser, **req_args: Any) -> dict[str, Any]:
    """One authorization request through the browser; the ID token the library validated."""
    url = client.init_authorization(req_args={"scope": ["openid", "profile"], **req_args})
    callback = browser.authorize(url)
    response = client.finalize_auth(callback)
    assert not is_error_message(response), response.to_dict()
    tokens = client.get_tokens(callback["state"])  # the library validates the ID token
    return dict(tokens["__verified_id_token"].to_dict())


def _refused(client: StandAloneClient, browser: Browser, **req_args: Any) -> dict[str, Any]:
    """One authorization request the provider answers with an error; the error response
    as the library parsed it, and the state the request was sent with."""
    url = client.init_authorization(req_args={"scope": ["openid", "profile"], **req_args})
    callback = browser.authorize(url)
    response = client.finalize_auth(callback)
    assert is_error_message(response), response.to_dict()
    return {**response.to_dict(), "sent_state": _query(url)["state"]}


def _rp(issuer: str) -> StandAloneClient:
    client = _client(issuer)
    assert client.do_provider_info() == issuer
    client.do_client_registration()
    client.get_context().registration_response = {"id_token_signed_response_alg": "ES256"}
    return client


def test_discovery_offers_the_levels_and_the_claims_parameter(provider: Server) -> None:
    info = _rp(provider.base_url).get_context().provider_info
    assert info["acr_values_supported"] == [LOA(level) for level in (1, 2, 3, 4)]
    assert info["claims_parameter_supported"] is True


@pytest.mark.parametrize("asked_with", ["acr_values", "claims"])
def test_a_password_session_steps_up_to_level_3_with_totp(
    provider: Server, asked_with: str
) -> None:
    client = _rp(provider.base_url)
    with httpx.Client(base_url=provider.base_url) as http:
        browser = Browser(http, "zhangsan")
        first = _signed_in(client, browser)
        assert browser.pages == ["/login"]
        assert first["acr"] == LOA(2)
        assert first["amr"] == ["pwd"]
        time.sleep(1.1)  # auth_time counts seconds: the step-up's must be later
        browser.pages.clear()
        if asked_with == "acr_values":
            higher = _signed_in(client, browser, acr_values=[LOA(3)])
        else:
            essential = {"id_token": {"acr": {"essential": True, "values": [LOA(3)]}}}
            higher = _signed_in(client, browser, claims=json.dumps(essential))
        assert browser.pages == ["/login/factor"]  # the factor page, not the password page
        assert higher["acr"] == LOA(3)
        assert higher["amr"] == ["pwd", "otp", "mfa"]
        assert higher["auth_time"] > first["auth_time"]
        assert higher["sub"] == first["sub"]
        # The stronger session now serves level 3 without a page.
        browser.pages.clear()
        again = _signed_in(client, browser, acr_values=[LOA(3)])
        assert browser.pages == [] and again["acr"] == LOA(3)


def test_unreachable_levels_reach_the_library_as_unmet_authentication_requirements(
    provider: Server,
) -> None:
    client = _rp(provider.base_url)
    with httpx.Client(base_url=provider.base_url) as http:
        browser = Browser(http, "zhangsan")
        assert _signed_in(client, browser)["acr"] == LOA(2)
        browser.pages.clear()
        # Level 4 needs a passkey under user verification; zhangsan has only TOTP.
        refused = _refused(client, browser, acr_values=[LOA(4)])
        assert browser.pages == []  # nothing to ask: no factor page, no password page
        assert refused["error"] == "unmet_authentication_requirements"
        assert refused["state"] == refused["sent_state"]
    with httpx.Client(base_url=provider.base_url) as http:
        # lisi's name is self-declared: no sign-in makes it level 3.
        browser = Browser(http, "lisi")
        refused = _refused(client, browser, acr_values=[LOA(3)])
        assert browser.pages == ["/login"]
        assert refused["error"] == "unmet_authentication_requirements"
        assert refused["state"] == refused["sent_state"]
