"""The console's organisation screens act through ``admin.organisations``: the system
administrator creates and disables organisations and manages any members; an organisation
administrator manages their own organisation's members only; CSRF and stale forms refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests import oidc
from tests.admin import console
from tests.admin import seal_world as sw
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    return w.build(oidc.domain_of(client))


def test_the_system_administrator_creates_and_disables_an_organisation(
    client: TestClient, world: w.World
) -> None:
    system = console.sign_in(client, w.SYSTEM)
    listed = system.get("/admin/organisations")
    assert listed.status_code == 200 and f'id="{world.organisation_id}"' in listed.text
    form = console.hidden(listed.text, "/admin/organisations")
    data = {"name": "另一家单位", "uscc": sw.OTHER_USCC}
    assert system.post("/admin/organisations", data=data).status_code == 403  # no CSRF
    made = system.post("/admin/organisations", data={**form, **data}, follow_redirects=False)
    assert made.status_code == 303
    assert f'data-uscc="{sw.OTHER_USCC}"' in system.get("/admin/organisations?lang=en").text

    url = f"/admin/organisations/{world.organisation_id}"
    page = system.get(url).text
    state = console.hidden(page, f"{url}/disable")
    assert system.post(f"{url}/disable", data=state, follow_redirects=False).status_code == 303
    assert 'data-disabled="true"' in system.get(url).text
    stale = system.post(f"{url}/enable", data=state)
    assert stale.status_code == 412


def test_an_organisation_administrator_manages_their_members(
    client: TestClient, world: w.World
) -> None:
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    listed = org.get("/admin/organisations").text
    assert f'id="{world.organisation_id}"' in listed and 'id="new-organisation"' not in listed
    url = f"/admin/organisations/{world.organisation_id}"
    page = org.get(url).text
    assert 'data-username="orgadm" data-role="admin"' in page
    assert f"{url}/disable" not in page
    form = console.hidden(page, f"{url}/members")
    added = org.post(
        f"{url}/members",
        data={**form, "person": w.NOBODY, "role": "member"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    page = org.get(url).text
    assert 'data-username="plain" data-role="member"' in page

    # The last administrator stays.
    me = world.actor(w.ORG_ADMIN).id
    last = org.post(f"{url}/members/{me}/remove", data=form)
    assert last.status_code == 409 and 'id="console-error"' in last.text
    plain = world.actor(w.NOBODY).id
    assert org.post(f"{url}/members/{plain}/remove", data={"csrf_token": "x"}).status_code == 403
    removed = org.post(f"{url}/members/{plain}/remove", data=form, follow_redirects=False)
    assert removed.status_code == 303
    assert 'data-username="plain"' not in org.get(url).text

    # Not the organisation's state.
    refused = org.post(f"{url}/disable", data={**form, "version": "*"})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "organisations.update" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")


def test_another_organisation_and_other_roles_are_refused(
    client: TestClient, world: w.World
) -> None:
    other_id = oidc.add_organisation(
        world.domain, member=w.NOBODY, uscc=sw.OTHER_USCC, name="另一家单位"
    )
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    refused = org.get(f"/admin/organisations/{other_id}")
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    token = console.form_token(org, "organisations")
    added = org.post(
        f"/admin/organisations/{other_id}/members",
        data={"csrf_token": token, "person": w.ORG_ADMIN, "role": "admin"},
    )
    assert added.status_code == 403
    assert "organisations.set_member" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")

    security = console.sign_in(client, w.SECURITY)
    assert security.get(f"/admin/organisations/{other_id}").status_code == 200  # reads
    token = console.form_token(security, "organisations")
    made = security.post(
        "/admin/organisations",
        data={"csrf_token": token, "name": "x", "uscc": "91350100MA0000000X"},
    )
    assert made.status_code == 403
    assert "organisations.create" in console.refusals(world.domain, f"person:{w.SECURITY}")
