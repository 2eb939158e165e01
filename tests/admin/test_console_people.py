"""The console's people screens act through ``admin.people``: the system administrator
creates, edits, sets passwords and disables; the security administrator locks; others are
refused (and the refusal is recorded); CSRF and stale forms are refused."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from idp import account_deletion
from tests import oidc
from tests.admin import console
from tests.admin import world as w


@pytest.fixture
def world(client: TestClient) -> w.World:
    return w.build(oidc.domain_of(client))


def _person_id(world: w.World, login: str) -> str:
    return world.actor(login).id


def test_the_system_administrator_creates_and_edits_a_person(
    client: TestClient, world: w.World
) -> None:
    system = console.sign_in(client, w.SYSTEM)
    listed = system.get("/admin/people")
    assert listed.status_code == 200 and 'data-username="plain"' in listed.text
    assert system.get("/admin/people?lang=en").text.count("New person") == 1
    form = console.hidden(listed.text, "/admin/people")
    assert system.post("/admin/people", data={"username": "lisi"}).status_code == 403  # no CSRF
    made = system.post(
        "/admin/people",
        data={**form, "username": "lisi", "display_name": "李四", "email": "lisi@example.cn"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    page_url = made.headers["location"].split("?")[0]
    person = system.get(page_url)
    assert person.status_code == 200 and "lisi@example.cn" in person.text
    assert system.get("/admin/people?q=lisi@example.cn").text.count('data-username="lisi"') == 1

    profile = console.hidden(person.text, f"{page_url}/profile")
    edited = system.post(
        f"{page_url}/profile",
        data={**profile, "display_name": "李四四", "email": "", "phone": "13800000000"},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    after = system.get(page_url).text
    assert "李四四" in after and "lisi@example.cn" not in after and "13800000000" in after
    stale = system.post(f"{page_url}/profile", data={**profile, "display_name": "王五"})
    assert stale.status_code == 412 and "precondition-failed" in stale.text
    unversioned = system.post(
        f"{page_url}/profile", data={"csrf_token": profile["csrf_token"], "display_name": "王五"}
    )
    assert unversioned.status_code == 428

    state = console.hidden(after, f"{page_url}/disable")
    assert system.post(f"{page_url}/disable", data=state, follow_redirects=False).status_code == 303
    assert 'data-disabled="true"' in system.get(page_url).text
    password = console.hidden(after, f"{page_url}/password")
    changed = system.post(
        f"{page_url}/password",
        data={**password, "new_password": "A-much-longer-passw0rd!"},
        follow_redirects=False,
    )
    assert changed.status_code == 303


def test_the_system_administrator_cannot_take_over_another_role_holder(
    client: TestClient, world: w.World
) -> None:
    system = console.sign_in(client, w.SYSTEM)
    security_id = _person_id(world, w.SECURITY)
    page = system.get(f"/admin/people/{security_id}").text
    form = console.hidden(page, f"/admin/people/{security_id}/password")
    refused = system.post(
        f"/admin/people/{security_id}/password",
        data={**form, "new_password": "A-much-longer-passw0rd!"},
    )
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "people.set_password" in console.refusals(world.domain, f"person:{w.SYSTEM}")


def test_the_security_administrator_locks_and_others_are_refused(
    client: TestClient, world: w.World
) -> None:
    plain = _person_id(world, w.NOBODY)
    security = console.sign_in(client, w.SECURITY)
    page = security.get(f"/admin/people/{plain}").text
    assert f"/admin/people/{plain}/profile" not in page  # no system administrator's forms
    lock = console.hidden(page, f"/admin/people/{plain}/lock")
    assert security.post(f"/admin/people/{plain}/lock", data={"reason": "x"}).status_code == 403
    locked = security.post(
        f"/admin/people/{plain}/lock", data={**lock, "reason": "lost phone"}, follow_redirects=False
    )
    assert locked.status_code == 303
    page = security.get(f"/admin/people/{plain}").text
    assert 'data-disabled="true"' in page and f"/admin/people/{plain}/unlock" in page

    # The system administrator's token in the security administrator's form: refused.
    system = console.sign_in(client, w.SYSTEM)
    token = console.form_token(system, "people")
    refused = system.post(f"/admin/people/{plain}/unlock", data={"csrf_token": token})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "people.unlock" in console.refusals(world.domain, f"person:{w.SYSTEM}")
    profile_refused = security.post(
        f"/admin/people/{plain}/profile",
        data={"csrf_token": lock["csrf_token"], "display_name": "x", "version": "*"},
    )
    assert profile_refused.status_code == 403
    assert "people.update" in console.refusals(world.domain, f"person:{w.SECURITY}")
    assert security.get("/admin/people").status_code == 200  # every platform role reads


def test_an_organisation_administrator_sees_their_members_only(
    client: TestClient, world: w.World
) -> None:
    org = console.sign_in(client, w.ORG_ADMIN, organisation=world.organisation_id)
    listed = org.get("/admin/people").text
    assert 'data-username="orgadm"' in listed and 'data-username="plain"' not in listed
    assert 'id="new-person"' not in listed
    plain = _person_id(world, w.NOBODY)
    refused = org.get(f"/admin/people/{plain}")
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    assert "people.read" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")
    token = console.form_token(org, "people")
    made = org.post("/admin/people", data={"csrf_token": token, "username": "zhaoliu"})
    assert made.status_code == 403
    assert "people.create" in console.refusals(world.domain, f"person:{w.ORG_ADMIN}")
    assert re.search(r"<html[^>]*lang=\"zh-CN\"", org.get("/admin/people").text)


def test_the_system_administrator_cancels_a_pending_deletion(
    client: TestClient, world: w.World
) -> None:
    plain = _person_id(world, w.NOBODY)
    url = f"/admin/people/{plain}"
    action = f"{url}/cancel-deletion"
    system = console.sign_in(client, w.SYSTEM)
    assert action not in system.get(url).text  # nothing pending: no button
    with world.domain.keys.database.transaction() as session:
        account_deletion.request(session, events=world.domain.audit, user_id=plain, grace_days=15)
    page = system.get(url).text
    assert 'id="person-deletion-pending"' in page and "申请注销" in page
    assert "Cancel the deletion" in system.get(url + "?lang=en").text
    fields = console.hidden(page, action)
    assert system.post(action, data={"version": fields["version"]}).status_code == 403  # CSRF
    security = console.sign_in(client, w.SECURITY)
    assert action not in security.get(url).text
    token = console.form_token(security, "people")
    refused = security.post(action, data={"csrf_token": token, "version": fields["version"]})
    assert refused.status_code == 403 and "admin-forbidden" in refused.text
    done = system.post(action, data=fields, follow_redirects=False)
    assert done.status_code == 303
    after = system.get(url).text
    assert 'data-disabled="false"' in after and action not in after
    again = system.post(action, data=console.hidden(page, action))  # the old form, again
    assert again.status_code in (409, 412)
