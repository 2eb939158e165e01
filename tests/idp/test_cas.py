"""CAS 3.0 inside the identity provider, both storage configurations: one SSO session for OIDC
apps and CAS services; single logout to CAS services from every way a session ends (CAS
logout, OIDC end-session, an administrator's lock); the rules the OIDC side applies
(disabled account, organisation choice, a service's minimum level); ticket lifetime; a
disabled service; every step in the audit log."""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from cas import CASClientV3
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import people as admin_people
from core.settings import Settings
from core.store.redis import RedisStore
from idp import cas_services
from idp.models import LogoutDelivery
from tests import oidc, receiver
from tests.admin import world as w
from tests.idp.sms_world import audit_types, browser, idp_of
from tongxing import create_app

NS = "{http://www.yale.edu/tp/cas}"


@pytest.fixture
def make_app(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., TestClient]]:
    """Start the app with settings overrides; stopped afterwards."""
    started: list[TestClient] = []

    def start(**overrides: object) -> TestClient:
        client = TestClient(create_app(make_settings(**overrides)), raise_server_exceptions=False)
        client.__enter__()
        started.append(client)
        return client

    yield start
    for client in started:
        client.__exit__(None, None, None)


@pytest.fixture
def app(make_app: Callable[..., TestClient]) -> TestClient:
    return make_app()


@pytest.fixture
def service(app: TestClient) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A registered CAS service (a loopback server receiving its single-logout posts)."""
    with receiver.receiver() as (url, received):
        register(app, url)
        yield url, received


def register(app: TestClient, url: str, *, min_level: int | None = None) -> str:
    domain = oidc.domain_of(app)
    with domain.keys.database.transaction() as session:
        found = cas_services.register(
            session,
            events=domain.audit,
            service=url,
            name="旧档案系统",
            actor="test",
            min_level=min_level,
            loopback_server_uris=True,
        )
        return found.id


def _login(client: TestClient, url: str, **extra: str) -> str:
    """The redirect target of ``/cas/login`` for ``url``."""
    response = client.get(
        "/cas/login?" + urlencode({"service": url, **extra}), follow_redirects=False
    )
    return oidc.location(response)


def _sign_in_cas(client: TestClient, url: str, *, login: str = "zhangsan", org: str = "") -> str:
    """Sign in on our pages from ``/cas/login``; the ticket the service gets."""
    target = _login(client, url)
    if target.startswith("/login?"):
        page = client.get(target)
        response = oidc.submit_login(client, page.text, login=login)
        target = oidc.follow_to_rp(client, response, organisation=org)
    assert target.startswith(url + "?ticket=ST-"), target
    return parse_qs(urlsplit(target).query)["ticket"][0]


def _validate(client: TestClient, url: str, ticket: str) -> ET.Element:
    answer = client.get("/cas/p3/serviceValidate?" + urlencode({"service": url, "ticket": ticket}))
    assert answer.status_code == 200
    return ET.fromstring(answer.content)


def _attributes(root: ET.Element) -> dict[str, list[str]]:
    held = root.find(f"{NS}authenticationSuccess/{NS}attributes")
    assert held is not None, ET.tostring(root)
    found: dict[str, list[str]] = {}
    for element in held:
        found.setdefault(element.tag.removeprefix(NS), []).append(element.text or "")
    return found


def service_id(app: TestClient, url: str) -> str:
    with oidc.domain_of(app).keys.database.reading() as session:
        found = cas_services.find(session, url)
        assert found is not None
        return found.id


def _deliveries(app: TestClient) -> list[tuple[str, str]]:
    """(client, status) of every recorded logout delivery, settled (none pending)."""
    deadline = time.monotonic() + 15
    while True:
        with oidc.domain_of(app).keys.database.reading() as session:
            rows = [(r.client_id, r.status) for r in session.scalars(select(LogoutDelivery))]
        if all(status != "pending" for _, status in rows) or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


def _code(root: ET.Element) -> str | None:
    failure = root.find(f"{NS}authenticationFailure")
    return failure.get("code") if failure is not None else None


def _wait(received: list[dict[str, str]], count: int) -> None:
    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(received) == count, received


def test_one_sign_in_serves_an_oidc_app_and_a_cas_service_and_cas_logout_ends_both(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    url, slo = service
    domain = oidc.domain_of(app)
    oidc.add_person(domain)
    with receiver.receiver() as (backchannel, tokens):
        oidc.add_rp(domain, first_party=True, backchannel=backchannel)
        person = browser(app)
        oidc.sign_in(person, oidc.Request())  # the OIDC app first, with the password
        ticket = _sign_in_cas(person, url)  # no page: the same session
        attributes = _attributes(_validate(app, url, ticket))
        assert attributes["isFromNewLogin"] == ["false"]
        assert attributes["amr"] == ["pwd"] and attributes["acr"] == ["urn:tongxing:loa:2"]

        out = person.get("/cas/logout", follow_redirects=False)
        assert out.status_code == 200 and "tx_sso" not in person.cookies
        _wait(slo, 1)
        _wait(tokens, 1)
    assert sorted(_deliveries(app)) == [
        (f"cas:{service_id(app, url)}", "delivered"),
        ("permits", "delivered"),
    ]
    request = slo[0]["logoutRequest"]
    # python-cas's own check that the post names the ticket its session was opened with.
    assert CASClientV3.verify_logout_request(request, ticket)
    assert "ST-" not in str(audit_types(app))
    assert oidc.location(
        person.get(f"/cas/login?{urlencode({'service': url})}", follow_redirects=False)
    ).startswith("/login?")


def test_oidc_end_session_and_an_administrators_lock_send_single_logout(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    url, slo = service
    domain = oidc.domain_of(app)
    world = w.build(domain, identity=idp_of(app))
    person = browser(app)
    first = _sign_in_cas(person, url, login=w.NOBODY)
    second = _sign_in_cas(person, url, login=w.NOBODY)  # one session, two tickets
    person.get("/logout", follow_redirects=False)  # OIDC end-session: a confirmation page
    page = person.get("/logout")
    confirm = oidc.hidden(page.text, "csrf_token")
    person.post("/logout/confirm", data={"csrf_token": confirm}, follow_redirects=False)
    _wait(slo, 2)
    assert {
        ET.fromstring(p["logoutRequest"]).findtext(
            "{urn:oasis:names:tc:SAML:2.0:protocol}SessionIndex"
        )
        for p in slo
    } == {first, second}

    other = browser(app)
    third = _sign_in_cas(other, url, login=w.NOBODY)
    admin_people.lock(
        world.admin, world.actor(w.SECURITY), ref=w.NOBODY, locked=True, reason="stolen"
    )
    _wait(slo, 3)
    assert CASClientV3.verify_logout_request(slo[2]["logoutRequest"], third)


def test_a_disabled_person_has_no_session_and_their_tickets_fail(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    url, _ = service
    domain = oidc.domain_of(app)
    world = w.build(domain, identity=idp_of(app))
    person = browser(app)
    _sign_in_cas(person, url, login=w.NOBODY)
    pending = _sign_in_cas(person, url, login=w.NOBODY)
    admin_people.update(
        world.admin,
        world.actor(w.SYSTEM),
        ref=w.NOBODY,
        if_match=None,
        changes={"disabled": True},
    )
    assert _code(_validate(app, url, pending)) == "INVALID_TICKET"
    assert _login(person, url).startswith("/login?")


def test_the_organisation_a_person_acts_for_is_in_the_attributes(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    url, _ = service
    domain = oidc.domain_of(app)
    oidc.add_person(domain, "lisi", name="李四")
    org_id = oidc.add_organisation(domain, member="lisi", role="admin")
    person = browser(app)
    ticket = _sign_in_cas(person, url, login="lisi", org=org_id)  # the choice page first
    attributes = _attributes(_validate(app, url, ticket))
    assert attributes["organisationCode"] == [oidc.USCC]
    assert attributes["organisationName"] == ["某某科技有限公司"]
    assert attributes["organisationRole"] == ["admin"]
    assert attributes["displayName"] == ["李四"] and attributes["isFromNewLogin"] == ["true"]
    personal = browser(app)
    mine = _sign_in_cas(personal, url, login="lisi", org="")
    assert "organisationCode" not in _attributes(_validate(app, url, mine))


def test_a_service_asks_for_json_answers(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    """§2.5.1 ``format=JSON``: the same answers as JSON documents; a format we do not
    support is ``INVALID_REQUEST`` (in XML, the default), and spends the ticket (§3.1.1)."""
    url, _ = service
    oidc.add_person(oidc.domain_of(app))
    person = browser(app)

    def validate(path: str, ticket: str, fmt: str) -> tuple[str, bytes]:
        query = urlencode({"service": url, "ticket": ticket, "format": fmt})
        answer = app.get(f"/cas/{path}?{query}")
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "no-store"
        return answer.headers["content-type"], answer.content

    spent = _sign_in_cas(person, url)
    refused_type, refused = validate("p3/serviceValidate", spent, "YAML")
    assert refused_type.startswith("application/xml") and _code(ET.fromstring(refused)) == (
        "INVALID_REQUEST"
    )
    _, again = validate("p3/serviceValidate", spent, "JSON")
    assert json.loads(again)["serviceResponse"]["authenticationFailure"]["code"] == (
        "INVALID_TICKET"
    )
    ticket = _login(person, url).split("ticket=")[1]
    content_type, body = validate("p3/serviceValidate", ticket, "JSON")
    assert content_type == "application/json"
    ok = json.loads(body)["serviceResponse"]["authenticationSuccess"]
    assert ok["user"] == "zhangsan"
    assert ok["attributes"]["displayName"] == "张三" and ok["attributes"]["amr"] == ["pwd"]
    assert ok["attributes"]["acr"] == "urn:tongxing:loa:2"
    _, replayed = validate("p3/serviceValidate", ticket, "json")
    assert json.loads(replayed)["serviceResponse"]["authenticationFailure"]["code"] == (
        "INVALID_TICKET"
    )
    v2 = json.loads(validate("serviceValidate", _login(person, url).split("ticket=")[1], "JSON")[1])
    assert v2 == {"serviceResponse": {"authenticationSuccess": {"user": "zhangsan"}}}
    _, missing = validate("serviceValidate", "", "JSON")
    failed = json.loads(missing)["serviceResponse"]["authenticationFailure"]
    assert failed["code"] == "INVALID_REQUEST" and failed["description"]


def test_a_services_minimum_level_is_asked_for_like_an_apps(app: TestClient) -> None:
    domain = oidc.domain_of(app)
    oidc.add_person(domain, "weak", proofing_level=2)
    oidc.add_person(domain, "strong", proofing_level=4, second_factor=True)
    url = "https://level3.example/cas"
    register(app, url, min_level=3)
    weak = browser(app)
    target = _login(weak, url)
    page = weak.get(target)
    refused = oidc.submit_login(weak, page.text, login="weak")  # a name proofed to 2 only
    assert refused.status_code == 400 and "可信等级" in refused.text
    assert "location" not in refused.headers

    strong = browser(app)
    ticket = _sign_in_cas(strong, url, login="strong")  # password, then the TOTP page
    attributes = _attributes(_validate(app, url, ticket))
    assert attributes["acr"] == ["urn:tongxing:loa:3"]
    assert set(attributes["amr"]) >= {"pwd", "otp", "mfa"}


def test_tickets_live_as_long_as_the_setting_says(
    make_app: Callable[..., TestClient],
) -> None:
    app = make_app(cas_ticket_ttl_seconds=1)
    url = "https://short.example/"
    register(app, url)
    oidc.add_person(oidc.domain_of(app))
    person = browser(app)
    ticket = _sign_in_cas(person, url)
    time.sleep(1.3)
    assert _code(_validate(app, url, ticket)) == "INVALID_TICKET"


def test_a_disabled_service_gets_no_tickets_and_its_outstanding_ones_fail(
    app: TestClient,
) -> None:
    domain = oidc.domain_of(app)
    oidc.add_person(domain)
    url = "https://retired.example/"
    service_id = register(app, url)
    person = browser(app)
    ticket = _sign_in_cas(person, url)
    with domain.keys.database.transaction() as session:
        found = cas_services.find(session, service_id)
        assert found is not None
        cas_services.set_disabled(
            session, events=domain.audit, service=found, disabled=True, actor="test"
        )
    assert _code(_validate(app, url, ticket)) == "INVALID_SERVICE"
    page = person.get(f"/cas/login?{urlencode({'service': url})}", follow_redirects=False)
    assert page.status_code == 400 and "location" not in page.headers
    types = audit_types(app)
    for event in (
        "cas.service.registered",
        "cas.ticket.issued",
        "cas.ticket.refused",
        "cas.service.disabled",
    ):
        assert event in types, types
    # Refusals anyone can cause without a ticket of ours are logged, not audited one by one.
    assert "cas.login.refused" not in types
    before = len(audit_types(app))
    for _ in range(3):
        assert _code(_validate(app, url, "ST-forged")) == "INVALID_TICKET"
        app.get("/cas/login?" + urlencode({"service": "https://nobody.example/"}))
    assert len(audit_types(app)) == before


def test_a_failed_single_logout_is_recorded_and_logged_without_the_ticket(
    app: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    oidc.add_person(oidc.domain_of(app))
    idp_of(app).backchannel_delays = (0.0, 0.1)
    with receiver.receiver(status=500) as (url, received):
        register(app, url)
        person = browser(app)
        ticket = _sign_in_cas(person, url)
        with caplog.at_level("WARNING", logger="tongxing.idp.backchannel"):
            person.get("/cas/logout", follow_redirects=False)
            _wait(received, 2)  # tried twice, as the delays say
            assert _deliveries(app) == [(f"cas:{service_id(app, url)}", "failed")]
    assert "back-channel logout delivery failed" in caplog.text
    assert ticket not in caplog.text


def test_a_store_out_of_reach_is_an_internal_error_never_a_crash(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    url, _ = service
    oidc.add_person(oidc.domain_of(app))
    person = browser(app)
    ticket = _sign_in_cas(person, url)
    idp = idp_of(app)
    working = idp.store
    idp.store = RedisStore("redis://127.0.0.1:1/0", prefix=working.prefix)  # nothing listens
    try:
        assert _code(_validate(app, url, ticket)) == "INTERNAL_ERROR"
        page = person.get(f"/cas/login?{urlencode({'service': url})}", follow_redirects=False)
        assert page.status_code == 503 and "稍后再试" in page.text
    finally:
        idp.store.close()
        idp.store = working
    assert _code(_validate(app, url, ticket)) is None  # the ticket was never taken


def test_cas_logout_goes_back_only_to_a_registered_service(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    url, _ = service
    oidc.add_person(oidc.domain_of(app))
    for name in ("service", "url"):  # CAS 3.0, and CAS 2.0 clients' parameter
        person = browser(app)
        _sign_in_cas(person, url)
        out = person.get(f"/cas/logout?{urlencode({name: url})}", follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == url
    for elsewhere in ("https://evil.example/", url + "x", url.upper()):
        page = browser(app).get(
            f"/cas/logout?{urlencode({'service': elsewhere})}", follow_redirects=False
        )
        assert page.status_code == 200 and "location" not in page.headers


def test_the_demo_registers_its_cas_app_and_follows_the_demos_address(
    make_app: Callable[..., TestClient],
) -> None:
    from tongxing.demo_data import CAS_APP_PATH, CAS_SERVICE_ID

    for base in ("http://localhost:8000", "http://localhost:8300"):
        app = make_app(mode="demo", issuer=base)
        with oidc.domain_of(app).keys.database.reading() as session:
            found = cas_services.find(session, CAS_SERVICE_ID)
            assert found is not None and found.service == f"{base}{CAS_APP_PATH}"
            assert found.single_logout and not found.disabled


def test_an_agent_acts_for_the_organisation_on_a_cas_service_until_revoked(
    app: TestClient, service: tuple[str, list[dict[str, str]]]
) -> None:
    """The organisation choice of a CAS sign-in lists agent authorisations (经办人) covering
    all business; the attributes say ``agent`` and the authorisation; a ticket validated
    after the revocation no longer stands."""
    from datetime import UTC, datetime, timedelta

    from admin import agents as agent_rules
    from admin.service import Administration
    from core.api.deps import runtime_of
    from idp.agents import CHOICE_PREFIX
    from idp.runtime import IdentityProvider

    url, _ = service
    domain = oidc.domain_of(app)
    world = w.build(domain, runtime_of(app.app).get(IdentityProvider))  # type: ignore[arg-type]
    world.admin = runtime_of(app.app).get(Administration)  # type: ignore[arg-type]
    oidc.add_person(domain, "agent1", name="王经办")
    now = datetime.now(UTC)
    offered = agent_rules.offer(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        person="agent1",
        scope="all",
        apps=[],
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=30),
    )
    authorisation_id = str(offered["id"])
    agent = browser(app)
    _sign_in_cas(agent, url, login="agent1")  # nothing accepted yet: no choice
    page = agent.get("/account")
    accepted = agent.post(
        f"/account/agents/{authorisation_id}/accept",
        data={"csrf_token": oidc.hidden(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert accepted.status_code == 303
    target = _login(agent, url, renew="true")
    page = agent.get(target)
    response = oidc.submit_login(agent, page.text, login="agent1")
    target = oidc.follow_to_rp(agent, response, organisation=CHOICE_PREFIX + authorisation_id)
    ticket = parse_qs(urlsplit(target).query)["ticket"][0]
    attributes = _attributes(_validate(app, url, ticket))
    assert attributes["organisationRole"] == ["agent"]
    assert attributes["organisationAuthorisationId"] == [authorisation_id]
    assert attributes["organisationCode"] == [oidc.USCC]
    pending = _login(agent, url)  # single sign-on: a ticket at once, acting for the company
    assert pending.startswith(url + "?ticket=ST-")
    agent_rules.revoke(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        authorisation_id=authorisation_id,
    )
    ticket = parse_qs(urlsplit(pending).query)["ticket"][0]
    assert _code(_validate(app, url, ticket)) == "INVALID_TICKET"
    assert "agent.used" in audit_types(app)
    # The next ticket has no such choice any more: the person acts for themselves (a stale
    # choice would make every ticket fail validation until they sign out).
    after = _login(agent, url)
    assert after.startswith(url + "?ticket=ST-")
    attributes = _attributes(_validate(app, url, parse_qs(urlsplit(after).query)["ticket"][0]))
    assert "organisationCode" not in attributes and attributes["username"] == ["agent1"]
