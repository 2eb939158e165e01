"""Administrator scopes reach tokens only for holders, and the roles API checks them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from idp.clients import ClientError
from tests import oidc
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain)
    w.add_console(domain)
    return built


def test_admin_scopes_only_for_holders(client: TestClient, world: w.World) -> None:
    everything = " ".join(w.CONSOLE_SCOPES)
    plain = oidc.jwt_claims(w.person_token(client, w.NOBODY, scope=everything))
    assert plain["scope"] == "openid profile"
    assert plain["aud"] == "http://127.0.0.1:8000/userinfo"
    system = oidc.jwt_claims(w.person_token(client, w.SYSTEM, scope=everything))
    assert system["scope"] == "openid profile admin:system"
    assert "http://127.0.0.1:8000/admin" in system["aud"]
    org = oidc.jwt_claims(
        w.person_token(client, w.ORG_ADMIN, scope=everything, organisation=world.organisation_id)
    )
    assert org["scope"] == "openid profile org:admin" and org["org"] == world.organisation_id
    # Acting for oneself (no organisation chosen): no org:admin.
    alone = oidc.jwt_claims(w.person_token(client, w.ORG_ADMIN, scope=everything))
    assert alone["scope"] == "openid profile"


def test_roles_api_needs_a_token_and_a_role(client: TestClient, world: w.World) -> None:
    assert client.get("/admin/v1/roles").status_code == 401
    org = w.person_token(
        client, w.ORG_ADMIN, scope="openid org:admin", organisation=world.organisation_id
    )
    refused = client.get("/admin/v1/roles", headers=w.bearer(org))
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:tongxing:problem:admin-forbidden"
    audit = w.person_token(client, w.AUDIT, scope="openid admin:audit")
    listed = client.get("/admin/v1/roles", headers=w.bearer(audit)).json()["items"]
    assert {(r["person"], r["role"]) for r in listed} == {
        ("sys", "system-admin"),
        ("sec", "security-admin"),
        ("aud", "audit-admin"),
    }
    # A userinfo-only token is not an admin token.
    plain = w.person_token(client, w.NOBODY, scope="openid profile")
    assert client.get("/admin/v1/roles", headers=w.bearer(plain)).status_code == 401


def test_two_people_change_a_role_over_http(client: TestClient, world: w.World) -> None:
    system = w.person_token(client, w.SYSTEM, scope="openid admin:system")
    security = w.person_token(client, w.SECURITY, scope="openid admin:security")
    asked = client.post(
        "/admin/v1/role-changes",
        json={"action": "grant", "person": w.NOBODY, "role": "system-admin"},
        headers=w.bearer(system),
    )
    assert asked.status_code == 201, asked.text
    change = asked.json()["id"]
    own = client.post(f"/admin/v1/role-changes/{change}/confirm", headers=w.bearer(system))
    assert own.status_code == 403
    done = client.post(f"/admin/v1/role-changes/{change}/confirm", headers=w.bearer(security))
    assert done.status_code == 200 and done.json()["status"] == "done"
    conflict = client.post(
        "/admin/v1/role-changes",
        json={"action": "grant", "person": w.NOBODY, "role": "system-admin"},
        headers=w.bearer(system),
    )
    assert conflict.status_code == 409
    assert conflict.json()["type"] == "urn:tongxing:problem:role-conflict"


def test_withdrawn_role_stops_at_once(client: TestClient, world: w.World) -> None:
    token = w.person_token(client, w.AUDIT, scope="openid admin:audit")
    assert client.get("/admin/v1/roles", headers=w.bearer(token)).status_code == 200
    from admin import appointments
    from tests.admin.test_appointments import _role  # noqa: F401 - same world helpers

    grant = appointments.request_change(
        world.admin, world.actor(w.AUDIT), action="grant", login=w.NOBODY, role="audit-admin"
    )
    appointments.decide_change(
        world.admin, world.actor(w.SYSTEM), change_id=grant["id"], confirm=True
    )
    withdraw = appointments.request_change(
        world.admin, world.actor(w.NOBODY), action="withdraw", login=w.AUDIT, role="audit-admin"
    )
    appointments.decide_change(
        world.admin, world.actor(w.SYSTEM), change_id=withdraw["id"], confirm=True
    )
    # The token still says admin:audit; the database no longer does.
    assert client.get("/admin/v1/roles", headers=w.bearer(token)).status_code == 403


def test_service_accounts(client: TestClient, world: w.World) -> None:
    domain = oidc.domain_of(client)
    with pytest.raises(ClientError, match="at most one"):
        w.service_account(domain, "two-roles", scopes=["admin:system", "admin:audit"])
    with pytest.raises(ClientError, match="owning organisation"):
        w.service_account(domain, "orphan", scopes=["org:admin"])
    w.service_account(domain, "audit-bot", scopes=["admin:audit"])
    token = w.service_token(client, "audit-bot", "admin:audit")
    assert oidc.jwt_claims(token)["aud"] == "http://127.0.0.1:8000/admin"
    assert client.get("/admin/v1/roles", headers=w.bearer(token)).status_code == 200
    # A service account asks for role changes never.
    bot = client.post(
        "/admin/v1/role-changes",
        json={"action": "grant", "person": w.NOBODY, "role": "audit-admin"},
        headers=w.bearer(token),
    )
    assert bot.status_code == 403
