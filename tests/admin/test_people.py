"""The rules for people: who creates, edits, reads, sets passwords, disables and locks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from admin import appointments, people
from admin.actors import SETUP, server
from admin.errors import Forbidden, Invalid, NoDeletionPending, NotFound, PreconditionFailed
from admin.versions import etag
from audit.models import AuditEntry
from idp import account_deletion, accounts, grants
from tests import oidc
from tests.admin import world as w


@pytest.fixture
def world(domain: Any) -> w.World:
    return w.build(domain)


def events(world: w.World, type_: str) -> list[AuditEntry]:
    """The audit entries of one type, oldest first."""
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return list(session.scalars(query))


def refusals(world: w.World) -> list[str]:
    """Who was refused, in order (the ``admin.refused`` events' actors)."""
    return [e.actor for e in events(world, "admin.refused")]


def _grant(world: w.World, login: str) -> str:
    """An OAuth grant the person gave (as a sign-in would leave)."""
    user_id, grant_id = world.actor(login).id, f"g-{login}-{secrets.token_hex(4)}"
    with world.domain.keys.database.transaction() as session:
        grants.create(
            session,
            grant_id=grant_id,
            client_id="permits",
            user_id=user_id,
            sid="sid",
            scopes=["openid"],
            context={},
        )
    return grant_id


def _active(world: w.World, grant_id: str) -> bool:
    with world.domain.keys.database.reading() as session:
        return grants.active(session, grant_id) is not None


def test_only_the_system_administrator_creates_people(world: w.World) -> None:
    for login in (w.SECURITY, w.AUDIT, w.ORG_ADMIN, w.NOBODY):
        with pytest.raises(Forbidden):
            people.create(world.admin, world.actor(login), username="lisi")
    assert refusals(world) == [f"person:{x}" for x in (w.SECURITY, w.AUDIT, w.ORG_ADMIN, w.NOBODY)]
    created = people.create(
        world.admin,
        world.actor(w.SYSTEM),
        username="lisi",
        display_name="李四",
        password=oidc.PASSWORD,
        national_id="11010519491231002X",
    )
    assert created["national_id"] == "110***********002X"
    assert "11010519491231002X" not in str(created)
    [entry] = events(world, "user.created")[-1:]
    assert entry.actor == "person:sys" and entry.subject == created["id"]
    with pytest.raises(Invalid, match="already used"):
        people.create(world.admin, world.actor(w.SYSTEM), username="lisi")


def test_platform_roles_read_everyone_an_organisation_admin_only_members(world: w.World) -> None:
    for login in (w.SYSTEM, w.SECURITY, w.AUDIT):
        assert people.get(world.admin, world.actor(login), ref=w.NOBODY)["username"] == w.NOBODY
        listed = people.list_people(world.admin, world.actor(login), limit=200)
        assert {p["username"] for p in listed["items"]} >= {w.NOBODY, w.ORG_ADMIN}
    org_admin = world.actor(w.ORG_ADMIN)
    own = people.get(world.admin, org_admin, ref=w.ORG_ADMIN)
    assert own["organisations"][0]["role"] == "admin"
    with pytest.raises(Forbidden):  # not a member of the organisation
        people.get(world.admin, org_admin, ref=w.NOBODY)
    with pytest.raises(Forbidden):  # nor does a refusal say whether a login exists
        people.get(world.admin, org_admin, ref="nobody-at-all")
    with pytest.raises(NotFound):
        people.get(world.admin, world.actor(w.AUDIT), ref="nobody-at-all")
    listed = people.list_people(world.admin, org_admin)
    assert [p["username"] for p in listed["items"]] == [w.ORG_ADMIN]
    with pytest.raises(Forbidden):
        people.list_people(world.admin, world.actor(w.NOBODY))  # administers nothing
    other = oidc.add_organisation(
        world.domain, member=w.NOBODY, uscc=oidc.OTHER_USCC, name="另一家公司"
    )
    with pytest.raises(Forbidden):
        people.list_people(world.admin, org_admin, organisation=other)
    accounts_members = people.list_people(world.admin, world.actor(w.NOBODY), organisation=other)
    assert [p["username"] for p in accounts_members["items"]] == [w.NOBODY]


def test_lists_are_paged(world: w.World) -> None:
    actor = world.actor(w.AUDIT)
    first = people.list_people(world.admin, actor, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    rest = people.list_people(world.admin, actor, limit=200, cursor=first["next_cursor"])
    names = [p["username"] for p in first["items"] + rest["items"]]
    assert names == sorted(names) and len(names) == 5 and rest["next_cursor"] is None
    with pytest.raises(Invalid):
        people.list_people(world.admin, actor, cursor="_w")


def test_editing_needs_the_current_version(world: w.World) -> None:
    system = world.actor(w.SYSTEM)
    current = people.get(world.admin, system, ref=w.NOBODY)
    changed = people.update(
        world.admin,
        system,
        ref=current["id"],
        if_match=etag(current),
        changes={"display_name": "普通人", "email": "plain@example.cn", "phone": "+8613900000000"},
    )
    assert (changed["display_name"], changed["email"]) == ("普通人", "plain@example.cn")
    entry = events(world, "user.updated")[-1]
    assert entry.actor == "person:sys" and "plain@example.cn" not in entry.leaf.decode()
    with pytest.raises(PreconditionFailed):
        people.update(
            world.admin, system, ref=w.NOBODY, if_match=etag(current), changes={"phone": None}
        )
    cleared = people.update(
        world.admin, system, ref=w.NOBODY, if_match=etag(changed), changes={"phone": None}
    )
    assert cleared["phone"] is None
    with pytest.raises(Invalid, match="already used"):
        people.update(
            world.admin,
            system,
            ref=w.ORG_ADMIN,
            if_match=None,
            changes={"email": "plain@example.cn"},
        )
    with pytest.raises(Forbidden):
        people.update(world.admin, world.actor(w.SECURITY), ref=w.NOBODY, if_match=None, changes={})


def test_passwords_and_disabling_spare_the_other_administrators(world: w.World) -> None:
    system = world.actor(w.SYSTEM)
    before = _grant(world, w.NOBODY)
    people.set_password(world.admin, system, ref=w.NOBODY, password="a new long passphrase")
    with world.domain.keys.database.transaction() as session:
        assert accounts.authenticate(session, login=w.NOBODY, password="a new long passphrase")
    # Whoever signed in with the old password is signed out, as after the person's own reset.
    assert not _active(world, before)
    signed_out = events(world, "account.signed_out")[-1]
    assert signed_out.actor == f"person:{w.SYSTEM}" and b"password-reset" in signed_out.leaf
    people.set_password(world.admin, system, ref=w.SYSTEM, password="my own new passphrase")
    for holder in (w.SECURITY, w.AUDIT):  # taking over another role's account: refused
        with pytest.raises(Forbidden, match="三权分立"):
            people.set_password(world.admin, system, ref=holder, password="taken over, sorry")
        with pytest.raises(Forbidden):
            people.update(
                world.admin, system, ref=holder, if_match=None, changes={"disabled": True}
            )
    with pytest.raises(Invalid, match="10 characters"):
        people.set_password(world.admin, system, ref=w.NOBODY, password="short")
    with pytest.raises(Forbidden):
        people.set_password(
            world.admin, world.actor(w.SECURITY), ref=w.NOBODY, password="a new long passphrase"
        )
    grant = _grant(world, w.NOBODY)
    disabled = people.update(
        world.admin, system, ref=w.NOBODY, if_match=None, changes={"disabled": True}
    )
    assert disabled["disabled"] and not _active(world, grant)


def test_the_security_administrator_locks_accounts(world: w.World) -> None:
    grant = _grant(world, w.NOBODY)
    for login in (w.SYSTEM, w.AUDIT, w.ORG_ADMIN):
        with pytest.raises(Forbidden):
            people.lock(world.admin, world.actor(login), ref=w.NOBODY, locked=True)
    assert _active(world, grant)
    security = world.actor(w.SECURITY)
    locked = people.lock(world.admin, security, ref=w.NOBODY, locked=True, reason="phished")
    assert locked["disabled"] and not _active(world, grant)
    entry = events(world, "user.locked")[-1]
    assert entry.actor == "person:sec" and b"phished" in entry.leaf
    with world.domain.keys.database.transaction() as session:
        assert accounts.authenticate(session, login=w.NOBODY, password=oidc.PASSWORD) is None
    with pytest.raises(Invalid):
        people.lock(world.admin, security, ref=w.SECURITY, locked=True)
    unlocked = people.lock(world.admin, security, ref=w.NOBODY, locked=False)
    assert not unlocked["disabled"] and not _active(world, grant)  # grants stay ended
    assert events(world, "user.unlocked")[-1].actor == "person:sec"


def test_the_operator_sets_up_until_the_first_appointment(domain: Any) -> None:
    admin = w.administration(domain)
    operator = server(SETUP)
    for login in ("anna", "bert", "cora"):
        people.create(admin, operator, username=login, password=oidc.PASSWORD)
    assert len(people.list_people(admin, operator)["items"]) == 3
    assert people.get(admin, operator, ref="anna")["username"] == "anna"
    appointments.bootstrap(admin, system="anna", security="bert", audit="cora")
    with pytest.raises(Forbidden, match="--as"):
        people.create(admin, operator, username="dora")
    with pytest.raises(Forbidden):
        people.list_people(admin, operator)
    with pytest.raises(Forbidden):  # the setup actor is only the operator's, not a name
        people.create(admin, server("bootstrap"), username="dora")


def _ask_for_deletion(world: w.World, login: str) -> None:
    """The person asks for their account to be deleted (as on the account page)."""
    with world.domain.keys.database.transaction() as session:
        outcome = account_deletion.request(
            session, events=world.domain.audit, user_id=world.actor(login).id, grace_days=15
        )
        assert isinstance(outcome, account_deletion.Requested)


def test_the_system_administrator_cancels_a_pending_deletion(world: w.World) -> None:
    system, security = world.actor(w.SYSTEM), world.actor(w.SECURITY)
    with pytest.raises(NoDeletionPending, match="has not asked"):
        people.cancel_deletion(world.admin, system, ref=w.NOBODY)
    _ask_for_deletion(world, w.NOBODY)
    pending = people.get(world.admin, system, ref=w.NOBODY)
    assert pending["disabled"] and pending["deletion_requested_at"] is not None
    for other in (security, world.actor(w.AUDIT), world.actor(w.ORG_ADMIN)):
        with pytest.raises(Forbidden):
            people.cancel_deletion(world.admin, other, ref=w.NOBODY)
    with pytest.raises(PreconditionFailed):
        people.cancel_deletion(world.admin, system, ref=w.NOBODY, if_match='"stale"')
    done = people.cancel_deletion(world.admin, system, ref=w.NOBODY, if_match=etag(pending))
    assert not done["disabled"] and done["deletion_requested_at"] is None
    assert [e.actor for e in events(world, "account.deletion_cancelled")] == ["person:sys"]
    with pytest.raises(NoDeletionPending):  # once
        people.cancel_deletion(world.admin, system, ref=w.NOBODY)


def test_enabling_an_account_cancels_its_pending_deletion(world: w.World) -> None:
    system = world.actor(w.SYSTEM)
    _ask_for_deletion(world, w.NOBODY)
    enabled = people.update(
        world.admin, system, ref=w.NOBODY, if_match=None, changes={"disabled": False}
    )
    assert not enabled["disabled"] and enabled["deletion_requested_at"] is None
    assert len(events(world, "account.deletion_cancelled")) == 1
    assert len(events(world, "user.enabled")) == 1
    # Disabled later, it is not purged as if the old request still stood.
    people.update(world.admin, system, ref=w.NOBODY, if_match=None, changes={"disabled": True})
    with world.domain.keys.database.reading() as session:
        later = datetime.now(UTC) + timedelta(days=30)
        assert account_deletion.due(session, grace_days=15, now=later) == []


def test_a_locked_account_with_a_pending_deletion_stays_disabled(world: w.World) -> None:
    system, security = world.actor(w.SYSTEM), world.actor(w.SECURITY)
    _ask_for_deletion(world, w.NOBODY)
    people.lock(world.admin, security, ref=w.NOBODY, locked=True)
    unlocked = people.lock(world.admin, security, ref=w.NOBODY, locked=False)
    assert unlocked["disabled"] and not unlocked["locked"]  # the request still stands
    assert unlocked["deletion_requested_at"] is not None
    people.lock(world.admin, security, ref=w.NOBODY, locked=True)
    cancelled = people.cancel_deletion(world.admin, system, ref=w.NOBODY)
    assert cancelled["disabled"] and cancelled["locked"]  # the lock still stands
    assert cancelled["deletion_requested_at"] is None
