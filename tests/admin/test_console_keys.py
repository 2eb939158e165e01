"""The console's key status screen and dashboard act through ``admin.key_status`` and
``admin.dashboard``: the three platform administrators read the key status, only the
security administrator rotates; the dashboard shows each administrator their part."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests import oidc
from tests.admin import console
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    return w.build(oidc.domain_of(client))


def _kids(page: str, state: str) -> list[str]:
    return re.findall(rf'data-kid="([^"]+)" data-state="{state}"', page)


def test_the_security_administrator_rotates_token_keys(client: TestClient, world: w.World) -> None:
    security = console.sign_in(client, w.SECURITY)
    page = security.get("/admin/keys")
    assert page.status_code == 200 and 'id="cas"' in page.text and 'data-ca="' in page.text
    active = _kids(page.text, "active")
    upcoming = _kids(page.text, "next")
    assert active and upcoming
    form = console.hidden(page.text, "/admin/keys/rotate")
    assert security.post("/admin/keys/rotate", data={"force": "true"}).status_code == 403
    rotated = security.post(
        "/admin/keys/rotate", data={**form, "force": "true"}, follow_redirects=False
    )
    assert rotated.status_code == 303
    after = security.get("/admin/keys?lang=en").text
    assert upcoming[0] in _kids(after, "active") and active[0] in _kids(after, "retired")
    assert "Token-signing keys" in after


@pytest.mark.parametrize("login", [w.SYSTEM, w.AUDIT])
def test_other_administrators_read_the_key_status_but_do_not_rotate(
    client: TestClient, world: w.World, login: str
) -> None:
    page = console.sign_in(client, login)
    shown = page.get("/admin/keys")
    assert shown.status_code == 200 and 'id="rotate"' not in shown.text
    token = console.form_token(page, "keys")
    refused = page.post("/admin/keys/rotate", data={"csrf_token": token, "force": "true"})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "keys.rotate" in console.refusals(world.domain, f"person:{login}")


def test_an_organisation_administrator_has_no_key_status(
    client: TestClient, world: w.World
) -> None:
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    assert org.get("/admin/keys").status_code == 403
    assert "keys.status" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")


def test_the_dashboard_shows_each_administrator_their_part(
    client: TestClient, world: w.World
) -> None:
    auditor = console.sign_in(client, w.AUDIT).get("/admin/")
    assert auditor.status_code == 200
    assert 'data-count="people"' in auditor.text and 'id="recent-events"' in auditor.text
    assert 'id="failed-deliveries"' in auditor.text
    system = console.sign_in(client, w.SYSTEM).get("/admin/?lang=en")
    assert 'data-count="people"' in system.text and 'id="recent-events"' not in system.text
    assert "Pending grants" in system.text
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id).get("/admin/")
    assert f'data-organisation="{world.organisation_id}"' in org.text
    assert 'data-count="people"' not in org.text and 'data-count="members"' in org.text
