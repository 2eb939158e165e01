"""The console signs in through our own IdP, keeps its session on the server, and acts
through the same rule book as the admin API."""

from __future__ import annotations

import base64
import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin.console import registration, signin
from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp import grants as idp_grants
from idp import repository
from idp.models import Grant
from idp.runtime import IdentityProvider
from tests import oidc
from tests.admin import console
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    return w.build(oidc.domain_of(client))


def test_the_console_is_a_registered_public_client_of_our_idp(client: TestClient) -> None:
    with oidc.domain_of(client).keys.database.reading() as session:
        found = repository.client(session, registration.CLIENT_ID)
        assert found is not None
        assert found.auth_method == "none"
        assert found.redirect_uris == [f"{console.ISSUER}/admin/callback"]
        assert set(found.scopes) == set(registration.SCOPES)


def test_sign_in_through_the_idp_opens_a_server_side_session(
    client: TestClient, world: w.World
) -> None:
    anonymous = console.browser(client)
    front = anonymous.get("/admin/")
    assert front.status_code == 200 and 'id="sign-in"' in front.text
    assert anonymous.get("/admin/roles", follow_redirects=False).headers["location"] == (
        "/admin/login?next=%2Fadmin%2Froles"
    )
    page = console.sign_in(client, w.AUDIT)
    cookie = next(c for c in page.cookies.jar if c.name == "tx_console")
    assert cookie.path == "/admin/" and cookie.has_nonstandard_attr("HttpOnly")
    assert len(cookie.value or "") >= 40  # a reference only: the tokens stay on the server
    home = page.get("/admin/")
    assert home.status_code == 200 and 'id="who"' in home.text and w.AUDIT in home.text
    csp = home.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "/admin/audit" in home.text and "/admin/people" not in home.text
    english = page.get("/admin/?lang=en")
    assert "Sign out" in english.text and english.headers["content-language"] == "en"


def test_sign_in_state_is_bound_to_the_browser(client: TestClient, world: w.World) -> None:
    page = console.browser(client)
    started = page.get("/admin/login", follow_redirects=False)
    state = oidc.query(started.headers["location"])["state"]
    other = console.browser(client)  # another browser cannot bring this state back
    refused = other.get(f"/admin/callback?state={state}&code=x&iss={console.ISSUER}")
    assert refused.status_code == 400 and 'id="console-error"' in refused.text


def test_a_person_without_an_administrator_role_gets_no_session(
    client: TestClient, world: w.World
) -> None:
    page = console.browser(client)
    answer = console.finish_sign_in(page, w.NOBODY)
    assert answer.status_code == 403
    assert "tx_console" not in page.cookies
    # ... and the grant that sign-in created (with its refresh token) is ended.
    with world.domain.keys.database.reading() as session:
        user = repository.user_by_login(session, w.NOBODY)
        assert user is not None
        assert not idp_grants.of_user(session, user.id)  # no active grant
        ended = session.scalars(select(Grant).where(Grant.user_id == user.id)).all()
        assert [g.revoked_reason for g in ended] == ["no-administrator-role"]


def test_sign_out_ends_the_console_and_the_idp_session(client: TestClient, world: w.World) -> None:
    page = console.sign_in(client, w.SYSTEM)
    home = page.get("/admin/")
    forged = page.post("/admin/logout", data={"csrf_token": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    out = page.post(
        "/admin/logout",
        data={"csrf_token": console.csrf(home.text, "/admin/logout")},
        follow_redirects=False,
    )
    assert out.status_code == 303
    location = out.headers["location"]
    assert location.startswith(f"{console.ISSUER}/logout?")
    assert "id_token_hint=" in location
    assert page.get("/admin/roles", follow_redirects=False).status_code == 303
    page.get(location)  # the IdP ends its session (the hint matches it)
    again = page.get("/admin/login", follow_redirects=False)
    assert oidc.location(page.get(again.headers["location"], follow_redirects=False)).startswith(
        "/login?"
    )


def test_roles_page_two_people_change_a_role(client: TestClient, world: w.World) -> None:
    system = console.sign_in(client, w.SYSTEM)
    page = system.get("/admin/roles")
    assert page.status_code == 200 and "系统管理员" in page.text
    token = console.csrf(page.text, "/admin/roles/changes")
    forged = system.post(
        "/admin/roles/changes",
        data={"action": "grant", "person": w.NOBODY, "role": "system-admin", "csrf_token": "x"},
    )
    assert forged.status_code == 403
    asked = system.post(
        "/admin/roles/changes",
        data={"action": "grant", "person": w.NOBODY, "role": "system-admin", "csrf_token": token},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    listed = system.get("/admin/roles").text
    change = listed.split('<tr id="rolechg_')[1].split('"')[0]
    action = f"/admin/roles/changes/rolechg_{change}/confirm"
    assert action not in listed  # no button for a decision the rule book refuses
    own = system.post(action, data={"csrf_token": console.csrf(listed, "/admin/roles/changes")})
    assert own.status_code == 403 and "admin-forbidden" in own.text  # needs another role
    security = console.sign_in(client, w.SECURITY)
    listed = security.get("/admin/roles").text
    confirmed = security.post(
        action, data={"csrf_token": console.csrf(listed, action)}, follow_redirects=False
    )
    assert confirmed.status_code == 303
    with world.domain.keys.database.reading() as session:
        granted = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.type == "admin.role.granted")
            .order_by(AuditEntry.index)
        ).all()
        assert granted[-1].subject == w.NOBODY
        assert granted[-1].actor == f"person:{w.SYSTEM}"


def test_an_organisation_administrator_cannot_see_the_roles(
    client: TestClient, world: w.World
) -> None:
    page = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    refused = page.get("/admin/roles")
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    with world.domain.keys.database.reading() as session:
        recorded = session.scalars(
            select(AuditEntry).where(AuditEntry.type == "admin.refused").order_by(AuditEntry.index)
        ).all()
        assert recorded[-1].actor == f"person:{w.ORG_ADMIN}"


def test_the_audit_browser_lists_leaves_for_the_browser_to_check(
    client: TestClient, world: w.World
) -> None:
    page = console.sign_in(client, w.AUDIT)
    listed = page.get("/admin/audit")
    assert listed.status_code == 200
    assert 'src="/static/admin/audit.js"' in listed.text and "<script>" not in listed.text
    rows = re.findall(r'data-index="(\d+)" data-leaf="([^"]+)"', listed.text)
    assert rows and int(rows[0][0]) > int(rows[-1][0])  # newest first
    leaf = json.loads(base64.b64decode(rows[0][1]))
    assert leaf["seq"] == int(rows[0][0])
    only = page.get("/admin/audit?type=admin.role.granted").text
    assert only.count('data-type="admin.role.granted"') == 3 and 'data-type="user.' not in only
    script = page.get("/static/admin/audit.js")
    assert script.status_code == 200 and "crypto.subtle" in script.text
    for login in (w.SYSTEM, w.SECURITY):
        refused = console.sign_in(client, login).get("/admin/audit")
        assert refused.status_code == 403


def test_two_requests_refreshing_at_once_keep_the_session(
    client: TestClient, world: w.World
) -> None:
    """A request that read the session before another refreshed it must not spend the old
    refresh token again (reuse detection would end the grant and the session)."""
    page = console.sign_in(client, w.AUDIT)
    ref = page.cookies.get("tx_console", domain="127.0.0.1")
    idp = runtime_of(client.app).get(IdentityProvider)
    key = signin._key(idp, "console", ref)
    record = json.loads(idp.store.get(key) or b"{}")
    record["expires_at"] = 0  # due for a refresh
    idp.store.set(key, json.dumps(record).encode(), ttl=3600)
    stale = dict(record)  # the second request read the record here
    first = signin._refreshed(idp, key, record)
    assert first is not None
    second = signin._refreshed(idp, key, stale)
    assert second is not None and second["refresh_token"] == first["refresh_token"]
    assert 'id="who"' in page.get("/admin/").text  # still signed in
