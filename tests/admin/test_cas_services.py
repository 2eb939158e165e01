"""CAS services in the rule book, over ``/admin/v1/cas-services`` and in the console: only the
system administrator registers and disables; all platform roles read; exact, unique https
URLs (plain http only on loopback); problem+json refusals; audit events for every act."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import cas_services
from admin.errors import Conflict, Forbidden, Invalid
from admin.versions import etag
from audit.models import AuditEntry
from tests import oidc
from tests.admin import console
from tests.admin import world as w

URL = "https://records.example.gov.cn/cas/callback"


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain)
    w.add_console(domain)
    return built


def _types(world: w.World) -> list[str]:
    with world.domain.keys.database.reading() as session:
        return list(session.scalars(select(AuditEntry.type).order_by(AuditEntry.index)))


def test_the_rule_book(world: w.World) -> None:
    for login in (w.SECURITY, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            cas_services.create(world.admin, world.actor(login), service=URL)
    system = world.actor(w.SYSTEM)
    made = cas_services.create(
        world.admin, system, service=URL, name="档案", min_acr="urn:tongxing:loa:3"
    )
    assert made["min_acr"] == "urn:tongxing:loa:3" and made["single_logout"] is True
    with pytest.raises(Conflict, match="already registered"):
        cas_services.create(world.admin, system, service=URL)
    for bad in (
        "http://records.example.gov.cn/",  # plain http off loopback
        "https://a.example/#x",
        "https://user@a.example/",
        "javascript:alert(1)",
        "https://a.example/ x",
    ):
        with pytest.raises(Invalid):
            cas_services.create(world.admin, system, service=bad)
    with pytest.raises(Invalid, match="min_acr"):
        cas_services.create(world.admin, system, service=URL + "2", min_acr="gold")
    # A loopback http URL is a browser address: no single logout outside demo mode.
    loop = cas_services.create(world.admin, system, service="http://127.0.0.1:8080/app/")
    assert loop["single_logout"] is False
    for login in (w.SECURITY, w.AUDIT):
        listed = cas_services.list_services(world.admin, world.actor(login))
        assert {s["service"] for s in listed["items"]} == {URL, "http://127.0.0.1:8080/app/"}
    with pytest.raises(Forbidden):
        cas_services.list_services(world.admin, world.actor(w.ORG_ADMIN))
    with pytest.raises(Forbidden):
        cas_services.update(
            world.admin,
            world.actor(w.SECURITY),
            ref=made["id"],
            if_match=None,
            changes={"disabled": True},
        )
    off = cas_services.update(
        world.admin, system, ref=URL, if_match=etag(made), changes={"disabled": True}
    )
    assert off["disabled"] is True
    types = _types(world)
    assert types.count("cas.service.registered") == 2
    assert "cas.service.disabled" in types and "admin.refused" in types


def test_the_http_api(client: TestClient, world: w.World) -> None:
    system = w.bearer(w.person_token(client, w.SYSTEM, scope="openid admin:system"))
    security = w.bearer(w.person_token(client, w.SECURITY, scope="openid admin:security"))
    assert client.get("/admin/v1/cas-services").status_code == 401
    refused = client.post("/admin/v1/cas-services", json={"service": URL}, headers=security)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    made = client.post(
        "/admin/v1/cas-services", json={"service": URL, "name": "档案"}, headers=system
    )
    assert made.status_code == 201, made.text
    service_id = made.json()["id"]
    again = client.post("/admin/v1/cas-services", json={"service": URL}, headers=system)
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    bad = client.post(
        "/admin/v1/cas-services", json={"service": "http://evil.example/"}, headers=system
    )
    assert bad.status_code in (400, 422), bad.text
    assert bad.headers["content-type"].startswith("application/problem+json")
    listed = client.get("/admin/v1/cas-services", headers=security).json()["items"]
    assert [s["service"] for s in listed] == [URL]
    shown = client.get(f"/admin/v1/cas-services/{service_id}", headers=security)
    assert shown.status_code == 200
    stale = client.patch(
        f"/admin/v1/cas-services/{service_id}",
        json={"disabled": True},
        headers={**system, "if-match": '"stale"'},
    )
    assert stale.status_code == 412
    off = client.patch(
        f"/admin/v1/cas-services/{service_id}",
        json={"disabled": True},
        headers={**system, "if-match": shown.headers["etag"]},
    )
    assert off.status_code == 200 and off.json()["disabled"] is True
    assert client.get("/admin/v1/cas-services/nothing", headers=system).status_code == 404


def test_the_console_page(client: TestClient, world: w.World) -> None:
    system = console.sign_in(client, w.SYSTEM)
    home = system.get("/admin/")
    assert 'href="/admin/cas-services"' in home.text
    listed = system.get("/admin/cas-services")
    assert listed.status_code == 200 and 'id="register-cas-service"' in listed.text
    assert "精确匹配" in listed.text
    form = console.hidden(listed.text, "/admin/cas-services")
    data = {"service": URL, "name": "档案查询"}
    assert system.post("/admin/cas-services", data=data).status_code == 403  # no CSRF
    made = system.post("/admin/cas-services", data={**form, **data}, follow_redirects=True)
    assert made.status_code == 200 and URL in made.text and 'id="console-ok"' in made.text
    refused = system.post("/admin/cas-services", data={**form, **data})
    assert refused.status_code == 409 and "already registered" in refused.text
    [row_id] = [
        s["id"] for s in cas_services.list_services(world.admin, world.actor(w.SYSTEM))["items"]
    ]
    toggle = console.hidden(made.text, f"/admin/cas-services/{row_id}/disable")
    off = system.post(f"/admin/cas-services/{row_id}/disable", data=toggle, follow_redirects=True)
    assert off.status_code == 200 and 'data-disabled="true"' in off.text
    english = system.get("/admin/cas-services", headers={"accept-language": "en"})
    assert "matched exactly" in english.text

    security = console.sign_in(client, w.SECURITY)
    assert 'href="/admin/cas-services"' not in security.get("/admin/").text
    seen = security.get("/admin/cas-services")
    assert seen.status_code == 200 and 'id="register-cas-service"' not in seen.text
    assert "cas.service.disabled" in _types(world)
