"""The rules for organisations, their members and clients: the system administrator for
any, an organisation's administrator for their own only, secrets shown once."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from admin import clients, organisations
from admin.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed
from admin.versions import etag
from audit.models import AuditEntry
from idp import client_secrets
from idp import repository as idp_repository
from tests import oidc
from tests.admin import world as w
from tests.admin.test_people import refusals


@pytest.fixture
def world(domain: Any) -> w.World:
    built = w.build(domain)
    oidc.add_person(domain, "outsider")
    return built


def _other(world: w.World) -> str:
    return oidc.add_organisation(
        world.domain, member="outsider", uscc=oidc.OTHER_USCC, name="另一家公司"
    )


def test_only_the_system_administrator_creates_and_disables(world: w.World) -> None:
    for login in (w.SECURITY, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            organisations.create(
                world.admin, world.actor(login), name="新公司", uscc=oidc.OTHER_USCC
            )
    created = organisations.create(
        world.admin, world.actor(w.SYSTEM), name="新公司", uscc=oidc.OTHER_USCC
    )
    with pytest.raises(Invalid, match="exists already"):
        organisations.create(world.admin, world.actor(w.SYSTEM), name="x", uscc=oidc.OTHER_USCC)
    with pytest.raises(Forbidden):  # its own administrator does not disable it either
        organisations.update(
            world.admin,
            world.actor(w.ORG_ADMIN),
            ref=world.organisation_id,
            if_match=None,
            disabled=True,
        )
    disabled = organisations.update(
        world.admin,
        world.actor(w.SYSTEM),
        ref=created["id"],
        if_match=etag(created),
        disabled=True,
    )
    assert disabled["disabled"]
    with pytest.raises(PreconditionFailed):
        organisations.update(
            world.admin, world.actor(w.SYSTEM), ref=created["id"], if_match=etag(created), name="y"
        )


def test_an_organisation_admin_sees_and_manages_only_their_own(world: w.World) -> None:
    other = _other(world)
    org_admin = world.actor(w.ORG_ADMIN)
    listed = organisations.list_organisations(world.admin, org_admin)["items"]
    assert [o["id"] for o in listed] == [world.organisation_id]
    assert len(organisations.list_organisations(world.admin, world.actor(w.AUDIT))["items"]) == 2
    assert organisations.get(world.admin, org_admin, ref=oidc.USCC)["id"] == world.organisation_id
    before = len(refusals(world))
    with pytest.raises(Forbidden):
        organisations.get(world.admin, org_admin, ref=other)
    with pytest.raises(Forbidden):
        organisations.members(world.admin, org_admin, ref=other)
    with pytest.raises(Forbidden):
        organisations.set_member(world.admin, org_admin, ref=other, person=w.NOBODY, role="admin")
    with pytest.raises(Forbidden):
        organisations.remove_member(world.admin, org_admin, ref=other, person="outsider")
    assert refusals(world)[before:] == ["person:orgadm"] * 4
    # Their own: add, promote, list, remove.
    added = organisations.set_member(
        world.admin, org_admin, ref=world.organisation_id, person=w.NOBODY, role="member"
    )
    assert added["role"] == "member"
    organisations.set_member(
        world.admin, org_admin, ref=world.organisation_id, person=w.NOBODY, role="admin"
    )
    members = organisations.members(world.admin, org_admin, ref=world.organisation_id)["items"]
    assert {(m["username"], m["role"]) for m in members} == {
        (w.ORG_ADMIN, "admin"),
        (w.NOBODY, "admin"),
    }
    organisations.remove_member(world.admin, org_admin, ref=world.organisation_id, person=w.NOBODY)
    with pytest.raises(NotFound):
        organisations.remove_member(
            world.admin, org_admin, ref=world.organisation_id, person=w.NOBODY
        )
    # Platform roles read any organisation's members; only the system administrator adds.
    assert organisations.members(world.admin, world.actor(w.AUDIT), ref=other)["items"]
    with pytest.raises(Forbidden):
        organisations.set_member(
            world.admin, world.actor(w.SECURITY), ref=other, person=w.NOBODY, role="member"
        )
    organisations.set_member(
        world.admin, world.actor(w.SYSTEM), ref=other, person=w.NOBODY, role="member"
    )
    entry = _last(world, "organisation.member_set")
    assert entry.actor == "person:sys" and entry.subject == other


def test_an_organisation_keeps_an_administrator(world: w.World) -> None:
    system = world.actor(w.SYSTEM)
    with pytest.raises(Conflict, match="last administrator"):
        organisations.remove_member(
            world.admin, system, ref=world.organisation_id, person=w.ORG_ADMIN
        )
    with pytest.raises(Conflict, match="last administrator"):
        organisations.set_member(
            world.admin, system, ref=world.organisation_id, person=w.ORG_ADMIN, role="member"
        )
    organisations.set_member(
        world.admin, system, ref=world.organisation_id, person=w.NOBODY, role="admin"
    )
    organisations.set_member(
        world.admin, system, ref=world.organisation_id, person=w.ORG_ADMIN, role="member"
    )


def _last(world: w.World, type_: str) -> AuditEntry:
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_)
        entry = session.scalars(query.order_by(AuditEntry.index.desc())).first()
        assert entry is not None
        return entry


def _digest(world: w.World, client_id: str) -> bytes | None:
    with world.domain.keys.database.reading() as session:
        client = idp_repository.client(session, client_id)
        assert client is not None
        return client.secret_digest


def test_clients_are_the_system_administrators(world: w.World) -> None:
    registration: dict[str, Any] = {
        "client_id": "cert-system",
        "grant_types": ["client_credentials"],
        "scopes": ["seal:sign"],
        "owner": oidc.USCC,
    }
    for login in (w.SECURITY, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            clients.create(world.admin, world.actor(login), **registration)
    view, secret = clients.create(world.admin, world.actor(w.SYSTEM), **registration)
    assert view["owner_organisation_id"] == world.organisation_id and secret
    assert secret not in str(view) and "client_secret" not in view
    with world.domain.keys.database.reading() as session:
        key = world.domain.data_keys.get(session, client_secrets.DATA_KEY_PURPOSE)
    assert _digest(world, "cert-system") == client_secrets.digest(secret, key=key)
    # A new secret: shown once, the old one stops, neither is ever in the audit log.
    for login in (w.SECURITY, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            clients.new_secret(world.admin, world.actor(login), client_id="cert-system")
    _, renewed = clients.new_secret(world.admin, world.actor(w.SYSTEM), client_id="cert-system")
    assert renewed and renewed != secret
    assert _digest(world, "cert-system") == client_secrets.digest(renewed, key=key)
    with world.domain.keys.database.reading() as session:
        leaves = b"".join(session.scalars(select(AuditEntry.leaf)))
    assert secret.encode() not in leaves and renewed.encode() not in leaves
    assert _last(world, "client.secret_rotated").actor == "person:sys"
    with pytest.raises(NotFound):
        clients.create(world.admin, world.actor(w.SYSTEM), **{**registration, "owner": "nope"})
    with pytest.raises(Invalid, match="at most one"):
        clients.create(
            world.admin,
            world.actor(w.SYSTEM),
            client_id="two-roles",
            grant_types=["client_credentials"],
            scopes=["admin:system", "admin:audit"],
        )


def test_client_reads_and_updates(world: w.World) -> None:
    oidc.add_rp(world.domain, "permits")
    system = world.actor(w.SYSTEM)
    clients.create(
        world.admin,
        system,
        client_id="owned-bot",
        grant_types=["client_credentials"],
        scopes=["seal:sign"],
        owner=world.organisation_id,
    )
    org_admin = world.actor(w.ORG_ADMIN)
    assert [c["client_id"] for c in clients.list_clients(world.admin, org_admin)["items"]] == [
        "owned-bot"
    ]
    assert clients.get(world.admin, org_admin, client_id="owned-bot")["client_id"] == "owned-bot"
    with pytest.raises(Forbidden):
        clients.get(world.admin, org_admin, client_id="permits")
    with pytest.raises(Forbidden):
        clients.list_clients(world.admin, world.actor(w.NOBODY))
    current = clients.get(world.admin, world.actor(w.AUDIT), client_id="permits")
    with pytest.raises(Forbidden):
        clients.update(
            world.admin, org_admin, client_id="owned-bot", if_match=None, changes={"disabled": True}
        )
    changed = clients.update(
        world.admin,
        system,
        client_id="permits",
        if_match=etag(current),
        changes={"name": "住房系统", "redirect_uris": ["https://permits.example/cb2"]},
    )
    assert changed["name"] == "住房系统"
    assert changed["redirect_uris"] == ["https://permits.example/cb2"]
    with pytest.raises(PreconditionFailed):
        clients.update(
            world.admin,
            system,
            client_id="permits",
            if_match=etag(current),
            changes={"disabled": True},
        )
    with pytest.raises(Invalid, match="https"):
        clients.update(
            world.admin,
            system,
            client_id="permits",
            if_match=None,
            changes={"redirect_uris": ["http://evil.example/cb"]},
        )
    with pytest.raises(Invalid, match="at least one"):
        clients.update(
            world.admin, system, client_id="permits", if_match=None, changes={"redirect_uris": []}
        )
    with pytest.raises(Invalid, match="cannot be changed"):
        clients.update(
            world.admin, system, client_id="permits", if_match=None, changes={"scopes": ["x"]}
        )
    disabled = clients.update(
        world.admin, system, client_id="permits", if_match=None, changes={"disabled": True}
    )
    assert disabled["disabled"] and _last(world, "client.disabled").actor == "person:sys"
