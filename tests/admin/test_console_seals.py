"""The console's seal screens act through the rule book: who may apply, approve and grant,
stale forms refused, CSRF on every form."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient

from tests import oidc
from tests.admin import console
from tests.admin import seal_world as sw
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    return sw.build(oidc.domain_of(client))


def _row_form(page: str, action: str) -> dict[str, str]:
    found = re.search(
        rf'action="{re.escape(action)}"><input type="hidden" name="csrf_token" value="([^"]+)">'
        r'<input type="hidden" name="version" value="([^"]+)">',
        page,
    )
    assert found, f"no form posting to {action}"
    return {"csrf_token": found.group(1), "version": html.unescape(found.group(2))}


def test_apply_and_approve_through_the_console(client: TestClient, world: w.World) -> None:
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    inbox = org.get("/admin/seal-applications")
    assert inbox.status_code == 200 and 'id="apply"' in inbox.text
    token = console.csrf(inbox.text, "/admin/seal-applications")
    forged = org.post("/admin/seal-applications", data={"seal_type": "contract", "csrf_token": "x"})
    assert forged.status_code == 403
    filed = org.post(
        "/admin/seal-applications",
        data={"seal_type": "contract", "csrf_token": token},
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    listed = org.get("/admin/seal-applications").text
    application = re.search(r'<tr id="([^"]+)" data-status="pending"', listed)
    assert application
    approve = f"/admin/seal-applications/{application.group(1)}/approve"
    assert approve not in listed  # no approve button for the organisation administrator

    system = console.sign_in(client, w.SYSTEM)
    security = console.sign_in(client, w.SECURITY)
    page = security.get("/admin/seal-applications").text
    form = _row_form(page, approve)
    assert system.post(approve, data=form).status_code == 403  # another browser's token
    assert approve not in system.get("/admin/seal-applications").text
    own_token = console.form_token(system, "applications")
    refused = system.post(approve, data={**form, "csrf_token": own_token})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    stale = security.post(approve, data={**form, "version": '"stale"'})
    assert stale.status_code == 412
    approved = security.post(approve, data=form, follow_redirects=False)
    assert approved.status_code == 303
    seals = org.get("/admin/seals")
    seal_id = re.search(r'<tr id="(seal_[^"]+)" data-status="active"', seals.text)
    assert seal_id
    image = org.get(f"/admin/seals/{seal_id.group(1)}/image")
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"

    other = console.sign_in(client, sw.OTHER, organisation=_other_org(world))
    assert seal_id.group(1) not in other.get("/admin/seals").text
    assert other.get(f"/admin/seals/{seal_id.group(1)}/image").status_code == 403


def _other_org(world: w.World) -> str:
    from idp import repository

    with world.domain.keys.database.reading() as session:
        found = repository.organisation(session, sw.OTHER_USCC)
        assert found is not None
        return found.id


def test_seal_history_events_for_the_auditor_current_state_for_others(
    client: TestClient, world: w.World
) -> None:
    seal_id = sw.make_seal(world)
    history = f"/admin/seals/{seal_id}/history"
    auditor = console.sign_in(client, w.AUDIT).get(history)
    assert auditor.status_code == 200 and 'id="seal-events"' in auditor.text
    assert 'data-status="active"' in auditor.text
    assert re.search(r'data-type="seal\.[a-z.]+" data-actor="person:', auditor.text)
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    assert f'href="{history}"' in org.get("/admin/seals").text
    own = org.get(history + "?lang=en")
    assert own.status_code == 200 and 'id="history-current-only"' in own.text
    assert 'id="seal-events"' not in own.text
    assert "audit.events" not in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")
    other = console.sign_in(client, sw.OTHER, organisation=_other_org(world))
    refused = other.get(history)
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "seals.read" in console.refusals(world.domain, f"person:{sw.OTHER}")
