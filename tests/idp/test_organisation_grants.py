"""A person who stops acting for an organisation stops at once: removing a member revokes
the grants they made acting for it (refresh fails, access tokens stop on every process,
their session asks again) and leaves their own; disabling the organisation revokes every
grant acting for it, its administrators' included. Both storage configurations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from admin import organisations
from admin.service import Administration
from audit.models import AuditEntry
from core.api.deps import runtime_of
from idp.runtime import IdentityProvider
from tests import oidc
from tests.admin import world as w

STAFF = "staff1"


@pytest.fixture
def world(client: TestClient) -> w.World:
    domain = oidc.domain_of(client)
    built = w.build(domain, runtime_of(client.app).get(IdentityProvider))
    built.admin = runtime_of(client.app).get(Administration)
    oidc.add_person(domain, STAFF, name="赵员工")
    oidc.add_rp(domain, "permits", first_party=True)
    organisations.set_member(
        built.admin,
        built.actor(w.ORG_ADMIN),
        ref=built.organisation_id,
        person=STAFF,
        role="member",
    )
    return built


def _browser(client: TestClient) -> TestClient:
    return TestClient(client.app, base_url=str(client.base_url), raise_server_exceptions=False)


def _signed_in(client: TestClient, browser: TestClient, login: str, organisation: str) -> Any:
    """Tokens of a code flow in ``browser`` acting for ``organisation`` ("" for oneself)."""
    request = oidc.Request(scope="openid profile offline_access")
    callback = oidc.sign_in(browser, request, login=login, organisation=organisation)
    body = oidc.redeem(client, request, callback["code"]).json()
    return body


def _refresh(client: TestClient, body: Any) -> int:
    return client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        headers=oidc.basic("permits"),
    ).status_code


def _announced(client: TestClient, body: Any) -> bool:
    grant_id = oidc.jwt_claims(body["access_token"])["gid"]
    return runtime_of(client.app).get(IdentityProvider).is_grant_revoked(grant_id)


def _userinfo(client: TestClient, body: Any) -> int:
    return client.get("/userinfo", headers=w.bearer(body["access_token"])).status_code


def test_a_removed_member_stops_acting_for_the_organisation(
    client: TestClient, world: w.World
) -> None:
    office = _browser(client)
    for_company = _signed_in(client, office, STAFF, world.organisation_id)
    assert oidc.jwt_claims(for_company["id_token"])["org"]["role"] == "member"
    at_home = _browser(client)
    for_self = _signed_in(client, at_home, STAFF, "")
    assert "org" not in oidc.jwt_claims(for_self["id_token"])

    organisations.remove_member(
        world.admin, world.actor(w.ORG_ADMIN), ref=world.organisation_id, person=STAFF
    )
    # The grant made for the company ends: no refresh, and its access token stops at once,
    # announced to every process (the sealing API reads only the announcement).
    assert _refresh(client, for_company) == 400
    assert _userinfo(client, for_company) == 401
    assert _announced(client, for_company) and not _announced(client, for_self)
    # What the person did for themselves goes on.
    assert _refresh(client, for_self) == 200
    assert _userinfo(client, for_self) == 200
    # The office session forgot the choice: the next app request acts for the person alone
    # (no membership left to choose, so no page), and the SSO session itself goes on.
    again = oidc.Request()
    callback = oidc.query(oidc.location(office.get(again.url(), follow_redirects=False)))
    body = oidc.redeem(client, again, callback["code"]).json()
    assert "org" not in oidc.jwt_claims(body["id_token"])
    assert _removed_events(client)[-1]["grants_ended"] == 1


def test_disabling_an_organisation_ends_every_grant_acting_for_it(
    client: TestClient, world: w.World
) -> None:
    staff = _signed_in(client, _browser(client), STAFF, world.organisation_id)
    administrator = _signed_in(client, _browser(client), w.ORG_ADMIN, world.organisation_id)
    own = _signed_in(client, _browser(client), w.ORG_ADMIN, "")
    system = world.actor(w.SYSTEM)
    organisations.update(
        world.admin, system, ref=world.organisation_id, if_match=None, disabled=True
    )
    for body in (staff, administrator):
        assert _refresh(client, body) == 400 and _userinfo(client, body) == 401
        assert _announced(client, body)
    assert _refresh(client, own) == 200
    organisations.update(
        world.admin, system, ref=world.organisation_id, if_match=None, disabled=False
    )
    assert _refresh(client, staff) == 400  # re-enabling revives no grant
    assert _updated_events(client)[-2]["grants_ended"] == 2


def _details(client: TestClient, type_: str) -> list[dict[str, Any]]:
    with oidc.domain_of(client).keys.database.reading() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        ).all()
        return [_entry_details(row) for row in rows]


def _entry_details(entry: AuditEntry) -> dict[str, Any]:
    return dict(json.loads(bytes(entry.leaf))["details"])


def _removed_events(client: TestClient) -> list[dict[str, Any]]:
    return _details(client, "organisation.member_removed")


def _updated_events(client: TestClient) -> list[dict[str, Any]]:
    return _details(client, "organisation.updated")


def test_a_session_acting_for_the_organisation_left_chooses_again(
    client: TestClient, world: w.World
) -> None:
    """With another organisation to act for, the session asks (never silently keeps acting
    for the one the person left, nor silently picks another)."""
    oidc.add_organisation(
        oidc.domain_of(client), member=STAFF, role="member", uscc=oidc.OTHER_USCC, name="另一家公司"
    )
    office = _browser(client)
    _signed_in(client, office, STAFF, world.organisation_id)
    organisations.remove_member(
        world.admin, world.actor(w.ORG_ADMIN), ref=world.organisation_id, person=STAFF
    )
    target = oidc.location(office.get(oidc.Request().url(), follow_redirects=False))
    assert target.startswith("/login/organisation?")
    page = office.get(target).text
    assert "另一家公司" in page and "某某科技有限公司" not in page
