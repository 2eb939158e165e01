"""经办人 delegation end to end in one app: an organisation's administrator authorises a
person, the person accepts on the account page, signs in for the organisation as its agent
(``org`` claim with role ``agent`` and the authorisation id); revocation and expiry end it
at once; only current, accepted authorisations covering the client are offered."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from admin import agents as agent_rules
from admin.service import Administration
from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp import agents
from idp.models import AgentAuthorisation
from idp.runtime import IdentityProvider
from tests import oidc
from tests.admin import world as w
from tests.oidc import location, query

AGENT = "agent1"


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain, runtime_of(client.app).get(IdentityProvider))
    built.admin = runtime_of(client.app).get(Administration)
    oidc.add_person(domain, AGENT, name="王经办")
    oidc.add_rp(domain, "permits", first_party=True)
    oidc.add_rp(domain, "other", first_party=True)
    return built


def _offer(world: w.World, *, scope: str = "all", apps: list[str] | None = None) -> str:
    now = datetime.now(UTC)
    view = agent_rules.offer(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        person=AGENT,
        scope=scope,
        apps=apps or [],
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=30),
    )
    assert view["status"] == "offered"
    return str(view["id"])


def _browser(client: TestClient) -> TestClient:
    return TestClient(client.app, base_url=str(client.base_url), raise_server_exceptions=False)


def _accept(browser: TestClient, authorisation_id: str, *, decision: str = "accept") -> None:
    page = browser.get("/account")
    assert page.status_code == 200
    assert f'id="agent-{authorisation_id}"' in page.text
    assert "经办人授权" in page.text
    csrf = oidc.hidden(page.text, "csrf_token")
    done = browser.post(
        f"/account/agents/{authorisation_id}/{decision}",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert location(done) == "/account?agent=done#agents"


def _sign_in(browser: TestClient, request: oidc.Request, *, organisation: str = "") -> Any:
    return oidc.sign_in(browser, request, login=AGENT, organisation=organisation)


def _choice_page(browser: TestClient, client_id: str = "permits") -> str:
    """The organisation page of a select_account request (empty when none is shown)."""
    request = oidc.Request(client_id=client_id, extra={"prompt": "select_account"})
    response = browser.get(request.url(), follow_redirects=False)
    target = location(response)
    if not target.startswith("/login/organisation?"):
        return ""
    return str(browser.get(target).text)


def _events(client: TestClient, subject: str) -> list[str]:
    with oidc.domain_of(client).keys.database.reading() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.subject == subject).order_by(AuditEntry.index)
        ).all()
        return [r.type for r in rows]


def _refresh(client: TestClient, token: str, client_id: str = "permits") -> Any:
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers=oidc.basic(client_id),
    )


def test_an_agent_acts_for_the_organisation_until_revoked(
    client: TestClient, world: w.World
) -> None:
    authorisation_id = _offer(world)
    browser = _browser(client)
    # Offered but not accepted: not a choice (the person has no other, so no page at all).
    request = oidc.Request(scope="openid profile offline_access")
    callback = _sign_in(browser, request)
    body = oidc.redeem(client, request, callback["code"]).json()
    assert "org" not in oidc.jwt_claims(body["id_token"])
    _accept(browser, authorisation_id)
    page = _choice_page(browser)
    value = agents.CHOICE_PREFIX + authorisation_id
    assert f'value="{value}"' in page and "经办人" in page
    # Choose to act as the organisation's agent.
    request = oidc.Request(
        scope="openid profile offline_access", extra={"prompt": "select_account"}
    )
    callback = query(
        oidc.follow_to_rp(
            browser, browser.get(request.url(), follow_redirects=False), organisation=value
        )
    )
    body = oidc.redeem(client, request, callback["code"]).json()
    org = {
        "code": oidc.USCC,
        "name": "某某科技有限公司",
        "role": "agent",
        "authorisation_id": authorisation_id,
    }
    assert oidc.jwt_claims(body["id_token"])["org"] == org
    access = body["access_token"]
    info = client.get("/userinfo", headers=w.bearer(access))
    assert info.json()["org"] == org
    refreshed = _refresh(client, body["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    assert oidc.jwt_claims(refreshed.json()["id_token"])["org"] == org
    # The SSO session keeps the choice for the next app request.
    again = oidc.Request()
    silent = query(location(browser.get(again.url(), follow_redirects=False)))
    assert "code" in silent
    again_body = oidc.redeem(client, again, silent["code"]).json()
    assert oidc.jwt_claims(again_body["id_token"])["org"]["role"] == "agent"

    revoked = agent_rules.revoke(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        authorisation_id=authorisation_id,
    )
    assert revoked["status"] == "revoked"
    # The refresh token of a grant made under it fails; its access token stops at once.
    failed = _refresh(client, refreshed.json()["refresh_token"])
    assert failed.status_code == 400 and failed.json()["error"] == "invalid_grant"
    assert client.get("/userinfo", headers=w.bearer(access)).status_code == 401
    assert (
        client.get("/userinfo", headers=w.bearer(refreshed.json()["access_token"])).status_code
        == 401
    )
    # The choice no longer lists it, and the session acts for the person alone now.
    assert _choice_page(browser) == ""
    plain = oidc.Request()
    callback = query(location(browser.get(plain.url(), follow_redirects=False)))
    body = oidc.redeem(client, plain, callback["code"]).json()
    assert "org" not in oidc.jwt_claims(body["id_token"])
    # A forged post of the revoked choice is refused.
    assert _events(client, authorisation_id) == [
        "agent.offered",
        "agent.accepted",
        "agent.used",
        "agent.used",
        "agent.revoked",
    ]


def test_a_session_acting_under_a_revoked_authorisation_must_choose_again(
    client: TestClient, world: w.World
) -> None:
    """With a membership left to choose, the session is asked again (not silently kept)."""
    oidc.add_organisation(
        oidc.domain_of(client), member=AGENT, role="member", uscc=oidc.OTHER_USCC, name="另一家公司"
    )
    authorisation_id = _offer(world)
    browser = _browser(client)
    request = oidc.Request()
    response = browser.get(request.url(), follow_redirects=False)
    posted = oidc.submit_login(browser, browser.get(location(response)).text, login=AGENT)
    assert location(posted).startswith("/login/organisation?")
    oidc.follow_to_rp(browser, posted, organisation="")
    _accept(browser, authorisation_id)
    value = agents.CHOICE_PREFIX + authorisation_id
    request = oidc.Request(extra={"prompt": "select_account"})
    oidc.follow_to_rp(
        browser, browser.get(request.url(), follow_redirects=False), organisation=value
    )
    agent_rules.revoke(
        world.admin,
        world.actor(w.SYSTEM),
        ref=world.organisation_id,
        authorisation_id=authorisation_id,
    )
    response = browser.get(oidc.Request().url(), follow_redirects=False)
    target = location(response)
    assert target.startswith("/login/organisation?")
    page = browser.get(target).text
    assert "另一家公司" in page and value not in page
    # Posting the revoked choice anyway is refused.
    forged = browser.post(
        "/login/organisation",
        data={
            "interaction": oidc.hidden(page, "interaction"),
            "csrf_token": oidc.hidden(page, "csrf_token"),
            "organisation": value,
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_a_precise_authorisation_is_offered_only_to_its_apps(
    client: TestClient, world: w.World
) -> None:
    authorisation_id = _offer(world, scope="apps", apps=["permits"])
    browser = _browser(client)
    _sign_in(browser, oidc.Request())
    _accept(browser, authorisation_id)
    value = agents.CHOICE_PREFIX + authorisation_id
    assert value in _choice_page(browser, "permits")
    assert _choice_page(browser, "other") == ""
    # Chosen for permits, the session is not the organisation's agent at the other app.
    request = oidc.Request(extra={"prompt": "select_account"})
    oidc.follow_to_rp(
        browser, browser.get(request.url(), follow_redirects=False), organisation=value
    )
    other = oidc.Request(client_id="other")
    callback = query(location(browser.get(other.url(), follow_redirects=False)))
    body = oidc.redeem(client, other, callback["code"]).json()
    assert "org" not in oidc.jwt_claims(body["id_token"])


def test_declined_and_expired_authorisations_are_not_offered(
    client: TestClient, world: w.World
) -> None:
    declined = _offer(world)
    browser = _browser(client)
    request = oidc.Request(scope="openid offline_access")
    _sign_in(browser, request)
    _accept(browser, declined, decision="decline")
    assert _choice_page(browser) == ""
    expiring = _offer(world)
    _accept(browser, expiring)
    value = agents.CHOICE_PREFIX + expiring
    request = oidc.Request(scope="openid offline_access", extra={"prompt": "select_account"})
    callback = query(
        oidc.follow_to_rp(
            browser, browser.get(request.url(), follow_redirects=False), organisation=value
        )
    )
    body = oidc.redeem(client, request, callback["code"]).json()
    assert oidc.jwt_claims(body["id_token"])["org"]["authorisation_id"] == expiring
    # Its period ends (as if time passed): no longer a choice, and the refresh fails.
    database = oidc.domain_of(client).keys.database
    with database.transaction() as session:
        session.execute(
            update(AgentAuthorisation)
            .where(AgentAuthorisation.id == expiring)
            .values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert _choice_page(browser) == ""
    # Another authorisation is due too: the refresh ends only its own grant's.
    other = _offer(world)
    with database.transaction() as session:
        session.execute(
            update(AgentAuthorisation)
            .where(AgentAuthorisation.id == other)
            .values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    failed = _refresh(client, body["refresh_token"])
    assert failed.json()["error"] == "invalid_grant"
    with database.reading() as session:
        untouched = session.get(AgentAuthorisation, other)
        assert untouched is not None and untouched.status == "offered"
    assert client.get("/userinfo", headers=w.bearer(body["access_token"])).status_code == 401
    assert _events(client, declined) == ["agent.offered", "agent.declined"]
    assert _events(client, expiring) == [
        "agent.offered",
        "agent.accepted",
        "agent.used",
        "agent.expired",
    ]
    with database.reading() as session:
        found = session.get(AgentAuthorisation, expiring)
        assert found is not None and found.status == "expired"


def test_the_account_page_refuses_a_decision_without_csrf_or_for_someone_else(
    client: TestClient, world: w.World
) -> None:
    authorisation_id = _offer(world)
    browser = _browser(client)
    _sign_in(browser, oidc.Request())
    no_csrf = browser.post(f"/account/agents/{authorisation_id}/accept", follow_redirects=False)
    assert location(no_csrf) == "/account"
    other = _browser(client)
    oidc.sign_in(other, oidc.Request(), login=w.NOBODY)
    page = other.get("/account")
    assert authorisation_id not in page.text
    refused = other.post(
        f"/account/agents/{authorisation_id}/accept",
        data={"csrf_token": oidc.hidden(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert location(refused) == "/account?agent=refused#agents"
    with oidc.domain_of(client).keys.database.reading() as session:
        found = session.get(AgentAuthorisation, authorisation_id)
        assert found is not None and found.status == "offered"
    english = browser.get("/account", headers={"accept-language": "en"})
    assert "Agent authorisations" in english.text and "All business" in english.text


def test_the_admin_api_refuses_a_token_issued_under_a_revoked_authorisation(
    client: TestClient, world: w.World
) -> None:
    """A system administrator who also acts as an organisation's agent: the console token
    made under the authorisation stops at the admin API when it is revoked."""
    w.add_console(oidc.domain_of(client))
    now = datetime.now(UTC)
    offered = agent_rules.offer(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        person=w.SYSTEM,
        scope="all",
        apps=[],
        valid_from=now - timedelta(minutes=1),
        valid_until=now + timedelta(days=1),
    )
    with oidc.domain_of(client).keys.database.transaction() as session:
        agents.decide(
            session,
            events=world.admin.events,
            authorisation_id=offered["id"],
            user_id=offered["person_id"],
            accept=True,
        )
    token = w.person_token(
        client,
        w.SYSTEM,
        scope="openid admin:system",
        organisation=agents.CHOICE_PREFIX + offered["id"],
    )
    assert oidc.jwt_claims(token)["gid"]
    assert client.get("/admin/v1/people", headers=w.bearer(token)).status_code == 200
    agent_rules.revoke(
        world.admin,
        world.actor(w.ORG_ADMIN),
        ref=world.organisation_id,
        authorisation_id=offered["id"],
    )
    refused = client.get("/admin/v1/people", headers=w.bearer(token))
    assert refused.status_code == 401
    assert refused.json()["type"] == "urn:tongxing:problem:invalid-token"


def test_every_process_notices_an_ended_period_once(client: TestClient, world: w.World) -> None:
    authorisation_id = _offer(world)
    idp = runtime_of(client.app).get(IdentityProvider)
    assert agents.notice_expiries(idp) == 0
    with oidc.domain_of(client).keys.database.transaction() as session:
        session.execute(
            update(AgentAuthorisation)
            .where(AgentAuthorisation.id == authorisation_id)
            .values(valid_until=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert agents.notice_expiries(idp) == 1
    assert agents.notice_expiries(idp) == 0
    assert _events(client, authorisation_id) == ["agent.offered", "agent.expired"]


def test_the_sweep_locks_in_id_order_and_skips_locked_rows() -> None:
    from sqlalchemy.dialects import postgresql

    from idp import repository

    query = repository.agent_authorisations_ending_query(
        statuses=agents.OPEN, before=datetime.now(UTC), lock=True
    )
    sql = str(query.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "ORDER BY agent_authorisations.id" in sql
    assert sql.rstrip().endswith("FOR UPDATE SKIP LOCKED")
