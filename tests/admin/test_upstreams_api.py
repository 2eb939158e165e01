"""``/admin/v1/upstreams`` over HTTP: the system administrator registers and disables an
upstream provider (the secret goes in, never out), the security and audit administrators
read, an organisation administrator and a request without a token are refused
(problem+json), and each act is an audit event."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from tests import oidc
from tests.admin import world as w

SECRET = "province-secret-for-the-admin-api"
BODY: dict[str, Any] = {
    "id": "province",
    "name_zh": "省统一身份认证平台",
    "name_en": "the Provincial Identity Platform",
    "discovery_url": "https://idp.province.example/.well-known/openid-configuration",
    "client_id": "tongxing",
    "client_secret": SECRET,
    "scopes": ["openid", "profile", "idcard"],
    "claim_map": {"name": "name", "national_id": "id_number"},
    "acr_map": {"urn:province:loa:2": 2, "urn:province:loa:3": 3},
    "amr_map": {"pwd": "pwd"},
    "trusted_proofing_level": 2,
}


def _types(client: TestClient) -> list[str]:
    domain = oidc.domain_of(client)
    with domain.keys.database.reading() as session:
        return list(session.scalars(select(AuditEntry.type).order_by(AuditEntry.index)).all())


def test_the_system_administrator_registers_and_disables_an_upstream(client: TestClient) -> None:
    domain = oidc.domain_of(client)
    world = w.build(domain)
    w.add_console(domain)
    sys_token = w.person_token(client, w.SYSTEM, scope="openid admin:system")
    sec_token = w.person_token(client, w.SECURITY, scope="openid admin:security")
    org_token = w.person_token(
        client, w.ORG_ADMIN, scope="openid org:admin", organisation=world.organisation_id
    )
    assert client.get("/admin/v1/upstreams").status_code == 401

    refused = client.post("/admin/v1/upstreams", json=BODY, headers=w.bearer(sec_token))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")

    created = client.post("/admin/v1/upstreams", json=BODY, headers=w.bearer(sys_token))
    assert created.status_code == 201, created.text
    assert created.json()["issuer"] == "https://idp.province.example"
    assert SECRET not in created.text
    again = client.post("/admin/v1/upstreams", json=BODY, headers=w.bearer(sys_token))
    assert again.status_code == 409 and "exists" in again.json()["detail"]
    bad = {**BODY, "id": "other", "discovery_url": "http://idp.example/x"}
    assert (
        client.post("/admin/v1/upstreams", json=bad, headers=w.bearer(sys_token)).status_code == 422
    )

    listed = client.get("/admin/v1/upstreams", headers=w.bearer(sec_token))
    assert listed.status_code == 200 and [u["id"] for u in listed.json()["items"]] == ["province"]
    assert SECRET not in listed.text
    assert client.get("/admin/v1/upstreams", headers=w.bearer(org_token)).status_code == 403

    disabled = client.patch(
        "/admin/v1/upstreams/province", json={"disabled": True}, headers=w.bearer(sys_token)
    )
    assert disabled.status_code == 200 and disabled.json()["disabled"] is True
    missing = client.get("/admin/v1/upstreams/nowhere", headers=w.bearer(sec_token))
    assert missing.status_code == 404
    types = _types(client)
    assert "upstream.created" in types and "upstream.disabled" in types
    assert types.count("admin.refused") >= 2
