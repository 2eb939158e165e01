"""The console's client screens act through ``admin.clients``: the system administrator
registers a client and sees a generated secret once (never again, never in the log); an
organisation administrator sees their organisation's clients only; CSRF, stale forms."""

from __future__ import annotations

import base64
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from audit.models import AuditEntry
from tests import oidc
from tests.admin import console
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    return w.build(oidc.domain_of(client))


def _secret(page: str) -> str:
    found = re.search(r'<output class="secret" id="client-secret">([^<]+)</output>', page)
    assert found, "no secret on the page"
    return found.group(1)


def _log_text(world: w.World) -> str:
    with world.domain.keys.database.reading() as session:
        rows = session.scalars(select(AuditEntry)).all()
        return "\n".join(bytes(row.leaf).decode() for row in rows)


def test_a_registered_clients_secret_is_shown_once(client: TestClient, world: w.World) -> None:
    system = console.sign_in(client, w.SYSTEM)
    listed = system.get("/admin/clients")
    assert listed.status_code == 200 and 'id="register-client"' in listed.text
    form = console.hidden(listed.text, "/admin/clients")
    data = {
        "client_id": "housing-web",
        "name": "住房网站",
        "kind": "web",
        "scopes": "openid profile",
        "redirect_uris": "https://housing.example.cn/callback",
        "owner": oidc.USCC,
    }
    assert system.post("/admin/clients", data=data).status_code == 403  # no CSRF
    made = system.post("/admin/clients", data={**form, **data})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = _secret(made.text)
    assert len(secret) >= 32
    detail = system.get("/admin/clients/housing-web")
    assert detail.status_code == 200 and secret not in detail.text
    assert "https://housing.example.cn/callback" in detail.text
    assert secret not in system.get("/admin/clients").text
    assert secret not in _log_text(world)
    assert base64.b64encode(secret.encode()).decode() not in _log_text(world)

    again = system.post("/admin/clients/housing-web/secret", data=form)
    renewed = _secret(again.text)
    assert renewed != secret and renewed not in _log_text(world)
    stale_edit = console.hidden(detail.text, "/admin/clients/housing-web/edit")
    detail = system.get("/admin/clients/housing-web")
    assert renewed not in detail.text

    # The page read before the new secret is stale now.
    stale = system.post("/admin/clients/housing-web/edit", data={**stale_edit, "name": "x"})
    assert stale.status_code == 412
    edit = console.hidden(detail.text, "/admin/clients/housing-web/edit")
    edited = system.post(
        "/admin/clients/housing-web/edit",
        data={**edit, "name": "住房网站（新）", "redirect_uris": "https://housing.example.cn/cb2"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    assert "https://housing.example.cn/cb2" in system.get("/admin/clients/housing-web").text
    stale = system.post("/admin/clients/housing-web/disable", data=edit)
    assert stale.status_code == 412
    page = system.get("/admin/clients/housing-web?lang=en").text
    state = console.hidden(page, "/admin/clients/housing-web/disable")
    disabled = system.post("/admin/clients/housing-web/disable", data=state, follow_redirects=False)
    assert disabled.status_code == 303
    assert 'data-disabled="true"' in system.get("/admin/clients/housing-web").text

    # The organisation administrator sees the organisation's client, but acts on nothing.
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    assert 'data-client="housing-web"' in org.get("/admin/clients").text
    assert 'id="new-secret"' not in org.get("/admin/clients/housing-web").text
    token = console.form_token(org, "clients")
    refused = org.post("/admin/clients/housing-web/secret", data={"csrf_token": token})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "clients.new_secret" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")


def test_other_roles_are_refused_registration(client: TestClient, world: w.World) -> None:
    audit = console.sign_in(client, w.AUDIT)
    assert audit.get("/admin/clients").status_code == 200  # every platform role reads
    token = console.form_token(audit, "clients")
    refused = audit.post(
        "/admin/clients",
        data={
            "csrf_token": token,
            "client_id": "sneaky",
            "kind": "web",
            "scopes": "openid",
            "redirect_uris": "https://sneaky.example.cn/cb",
        },
    )
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "clients.create" in console.refusals(world.domain, f"person:{w.AUDIT}")
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    assert org.get("/admin/clients/test-console").status_code == 403
    assert "clients.read" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")
