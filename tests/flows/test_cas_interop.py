"""Interop: a CAS client library we did not write (``python-cas``) against our CAS 3.0 server
on a real uvicorn, in both storage configurations: CAS 2.0 and 3.0 validation (with the
attributes), a replayed ticket and a ticket shown to another service refused (and spent),
an unregistered service refused at ``/cas/login`` with a page (never a redirect), ``renew``
and ``gateway``, and the CLI that registers the service.

python-cas reports a failed validation as ``user is None``; the raw answers are read too, to
see the spec's error codes (Apereo CAS Protocol 3.0 §2.5.3).
"""

from __future__ import annotations

import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cas import CASClient

from tests import backends
from tests.conftest import require_backend, strong_secret
from tests.in_process import tongxing
from tests.processes import Server, free_port, running_server

pytestmark = pytest.mark.slow

PASSWORD = "correct horse battery"
APP = "http://127.0.0.1:9"  # nothing listens there: we only read Location headers
SERVICE = f"{APP}/legacy/"
OTHER = f"{APP}/other/"
CAS_NS = "{http://www.yale.edu/tp/cas}"


def _env(tmp_path: Path, port: int, configuration: str) -> Iterator[dict[str, str]]:
    env = {
        "TONGXING_MODE": "production",
        "TONGXING_DATA_DIR": str(tmp_path),
        "TONGXING_ISSUER": f"http://127.0.0.1:{port}",
        "TONGXING_KEY_ENCRYPTION_KEY": strong_secret(),
        "TONGXING_OPS_TOKEN": strong_secret(),
    }
    if configuration == "embedded":
        yield env
        return
    require_backend("postgresql")
    require_backend("redis")
    prefix = f"txcas{uuid.uuid4().hex[:10]}"
    with backends.scratch_postgres_database() as url:
        env |= {
            "TONGXING_DATABASE_URL": url,
            "TONGXING_REDIS_URL": backends.REDIS_URL,
            "TONGXING_STORE_PREFIX": prefix,
        }
        try:
            yield env
        finally:
            backends.delete_keys(prefix)


@pytest.fixture(scope="module", params=["embedded", "shared"])
def provider(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """Our server on uvicorn with a person and two CAS services registered by the CLI, one per
    configuration for the module (each test signs in with a browser of its own, so the tests
    share nothing but the registrations)."""
    tmp_path = tmp_path_factory.mktemp("cas")
    port = free_port()
    for env in _env(tmp_path, port, request.param):
        for command, stdin in (
            (("db", "upgrade"), None),
            (("keys", "init"), None),
            (
                ("users", "create", "--username", "zhangsan", "--name", "张三", "--password-stdin"),
                PASSWORD,
            ),
            (("cas-services", "create", "--service", SERVICE, "--name", "旧档案系统"), None),
            (("cas-services", "create", "--service", OTHER), None),
        ):
            done = tongxing(*command, env=env, stdin=stdin + "\n" if stdin else None)
            assert done.returncode == 0, done.stderr
        listed = tongxing("cas-services", "list", "--json", env=env)
        assert listed.returncode == 0, listed.stderr
        assert {s["service"] for s in _json(listed.stdout)} == {SERVICE, OTHER}
        with running_server("serve", env=env, cwd=tmp_path, port=port) as server:
            yield server


def _json(text: str) -> list[dict[str, object]]:
    import json

    return list(json.loads(text.strip().splitlines()[-1]))


def _client(server: Server, version: int, service: str = SERVICE) -> CASClient:
    return CASClient(version=version, service_url=service, server_url=f"{server.base_url}/cas/")


def _ticket_from(location: str, service: str = SERVICE) -> str:
    assert location.startswith(service + "?ticket="), location
    return parse_qs(urlsplit(location).query)["ticket"][0]


def _sign_in(browser: httpx.Client, login_url: str) -> httpx.Response:
    """Play the browser on our pages from ``login_url`` until a redirect leaves the server."""
    response = browser.get(login_url)
    for _ in range(4):
        target = response.headers.get("location", "")
        if target.startswith(APP) or response.status_code not in (302, 303):
            return response
        page = browser.get(target)
        form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text))
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action, page.text[:300]
        form.update(login="zhangsan", password=PASSWORD)
        response = browser.post(action.group(1), data=form)
    raise AssertionError("did not get back to the service")


def _code(server: Server, path: str, **params: str) -> str | None:
    raw = httpx.get(f"{server.base_url}/cas/{path}?{urlencode(params)}")
    assert raw.status_code == 200
    assert raw.headers["content-type"].startswith("application/xml")
    assert raw.headers["cache-control"] == "no-store"
    failure = ET.fromstring(raw.content).find(f"{CAS_NS}authenticationFailure")
    return failure.get("code") if failure is not None else None


def test_python_cas_validates_v3_and_v2_and_refuses_replays(provider: Server) -> None:
    with httpx.Client(base_url=provider.base_url) as browser:
        cas3 = _client(provider, 3)
        first = _sign_in(browser, cas3.get_login_url())
        ticket = _ticket_from(first.headers["location"])
        assert re.fullmatch(r"ST-[0-9a-f]{32}", ticket)

        user, attributes, pgtiou = cas3.verify_ticket(ticket)
        assert user == "zhangsan" and pgtiou is None
        assert attributes["displayName"] == "张三" and attributes["name"] == "张三"
        assert attributes["isFromNewLogin"] == "true"
        assert attributes["longTermAuthenticationRequestTokenUsed"] == "false"
        assert attributes["acr"] == "urn:tongxing:loa:1"  # a self-declared name
        assert attributes["amr"] == "pwd"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", attributes["authenticationDate"])
        assert "organisationCode" not in attributes

        # Replayed: refused, by python-cas and by code.
        assert cas3.verify_ticket(ticket)[0] is None
        assert _code(provider, "p3/serviceValidate", service=SERVICE, ticket=ticket) == (
            "INVALID_TICKET"
        )

        # Single sign-on: no password this time; CAS 2.0 has no attributes.
        again = browser.get(cas3.get_login_url())
        assert again.status_code == 302
        second = _ticket_from(again.headers["location"])
        user, attributes, _ = _client(provider, 2).verify_ticket(second)
        assert user == "zhangsan" and attributes is None

        # Shown to another (registered) service: INVALID_SERVICE, and the ticket is spent.
        third = _ticket_from(browser.get(cas3.get_login_url()).headers["location"])
        assert _client(provider, 3, OTHER).verify_ticket(third)[0] is None
        assert cas3.verify_ticket(third)[0] is None
        fourth = _ticket_from(browser.get(cas3.get_login_url()).headers["location"])
        assert _code(provider, "serviceValidate", service=OTHER, ticket=fourth) == (
            "INVALID_SERVICE"
        )
        assert _code(provider, "serviceValidate", service=SERVICE, ticket=fourth) == (
            "INVALID_TICKET"
        )

        # renew: the password is asked again even with a session, and the answer says so.
        renewed = CASClient(
            version=3, service_url=SERVICE, server_url=f"{provider.base_url}/cas/", renew=True
        )
        asked = browser.get(renewed.get_login_url())
        assert asked.status_code == 303 and asked.headers["location"].startswith("/login?")
        fresh = _ticket_from(_sign_in(browser, renewed.get_login_url()).headers["location"])
        user, attributes, _ = renewed.verify_ticket(fresh)
        assert user == "zhangsan" and attributes["isFromNewLogin"] == "true"
        # A ticket from single sign-on does not pass a validation asking for renew.
        sso_ticket = _ticket_from(browser.get(cas3.get_login_url()).headers["location"])
        assert (
            _code(provider, "p3/serviceValidate", service=SERVICE, ticket=sso_ticket, renew="true")
            == "INVALID_TICKET"
        )


def test_bad_requests_get_the_specs_codes(provider: Server) -> None:
    assert _code(provider, "serviceValidate", service=SERVICE) == "INVALID_REQUEST"
    assert _code(provider, "serviceValidate", ticket="ST-0") == "INVALID_REQUEST"
    assert _code(provider, "serviceValidate", service=SERVICE, ticket="PT-1") == (
        "INVALID_TICKET_SPEC"
    )
    assert _code(provider, "p3/serviceValidate", service=SERVICE, ticket="ST-" + "0" * 32) == (
        "INVALID_TICKET"
    )
    with httpx.Client(base_url=provider.base_url) as browser:
        ticket = _ticket_from(
            _sign_in(browser, _client(provider, 3).get_login_url()).headers["location"]
        )
        # This server issues no proxy-granting tickets: asking for one fails (and spends it).
        assert (
            _code(
                provider, "p3/serviceValidate", service=SERVICE, ticket=ticket, pgtUrl=f"{APP}/pgt"
            )
            == "UNAUTHORIZED_SERVICE_PROXY"
        )
        assert _code(provider, "p3/serviceValidate", service=SERVICE, ticket=ticket) == (
            "INVALID_TICKET"
        )


@pytest.mark.parametrize(
    "service",
    [f"{APP}/unregistered/", f"{APP}/legacy", f"{APP}/legacy/?x=1", "https://evil.example/"],
)
def test_an_unregistered_service_gets_a_page_never_a_redirect(
    provider: Server, service: str
) -> None:
    with httpx.Client(base_url=provider.base_url) as browser:
        _sign_in(browser, _client(provider, 3).get_login_url())  # even with a session
        for lang, words in (("zh-CN", "未在统一身份认证登记"), ("en", "not registered")):
            page = browser.get(
                "/cas/login", params={"service": service}, headers={"Accept-Language": lang}
            )
            assert page.status_code == 400
            assert "location" not in page.headers
            assert words in page.text
            assert "ticket=" not in page.text


def test_gateway_without_a_session_goes_back_without_a_ticket(provider: Server) -> None:
    with httpx.Client(base_url=provider.base_url) as browser:
        back = browser.get("/cas/login", params={"service": SERVICE, "gateway": "true"})
        assert back.status_code == 302 and back.headers["location"] == SERVICE
        _sign_in(browser, _client(provider, 3).get_login_url())
        with_session = browser.get("/cas/login", params={"service": SERVICE, "gateway": "true"})
        assert _ticket_from(with_session.headers["location"])


def test_cas_logout_ends_the_session_and_redirects_only_to_registered_services(
    provider: Server,
) -> None:
    cas3 = _client(provider, 3)
    with httpx.Client(base_url=provider.base_url) as browser:
        _sign_in(browser, cas3.get_login_url())
        # A ticket issued before the logout is refused after it (its session ended).
        ticket = _ticket_from(browser.get(cas3.get_login_url()).headers["location"])
        out = browser.get(cas3.get_logout_url(redirect_url=SERVICE))
        assert out.status_code == 303 and out.headers["location"] == SERVICE
        assert cas3.verify_ticket(ticket)[0] is None
        asked = browser.get(cas3.get_login_url())
        assert asked.headers["location"].startswith("/login?")  # signed out: asked again
        _sign_in(browser, cas3.get_login_url())
        elsewhere = browser.get("/cas/logout", params={"service": "https://evil.example/"})
        assert elsewhere.status_code == 200 and "location" not in elsewhere.headers
