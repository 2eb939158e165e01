"""The rules of the three administrator roles: bootstrap, two-person changes, break-glass."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from admin import appointments
from admin.errors import Conflict, Forbidden, RoleConflict, SecondPersonNeeded
from audit.models import AuditEntry
from idp import accounts
from idp.role_scopes import role_of
from tests import oidc
from tests.admin import world as w


@pytest.fixture
def world(domain: Any) -> w.World:
    return w.build(domain)


def _events(world: w.World, type_: str) -> list[AuditEntry]:
    with world.domain.keys.database.reading() as session:
        query = select(AuditEntry).where(AuditEntry.type == type_).order_by(AuditEntry.index)
        return list(session.scalars(query))


def _role(world: w.World, login: str) -> str | None:
    with world.domain.keys.database.reading() as session:
        return role_of(session, world.actor(login).id)


def test_bootstrap_appoints_three_people_once(world: w.World) -> None:
    assert [_role(world, x) for x in (w.SYSTEM, w.SECURITY, w.AUDIT)] == [
        "system-admin",
        "security-admin",
        "audit-admin",
    ]
    assert len(_events(world, "admin.role.granted")) == 3
    with pytest.raises(Conflict):
        appointments.bootstrap(world.admin, system=w.NOBODY, security=w.SECURITY, audit=w.AUDIT)


def test_bootstrap_needs_three_different_people(domain: Any) -> None:
    for login in ("anna", "bert"):
        oidc.add_person(domain, login)
    with pytest.raises(RoleConflict):
        appointments.bootstrap(
            w.administration(domain), system="anna", security="anna", audit="bert"
        )
    with domain.keys.database.reading() as session:
        assert _no_roles(session)


def _no_roles(session: Any) -> bool:
    from idp import repository

    return not repository.platform_role_holders(session)


def test_a_role_change_needs_a_holder_and_a_second_role(world: w.World) -> None:
    # Only a holder of the role may ask.
    with pytest.raises(Forbidden):
        appointments.request_change(
            world.admin,
            world.actor(w.SECURITY),
            action="grant",
            login=w.NOBODY,
            role="system-admin",
        )
    change = appointments.request_change(
        world.admin, world.actor(w.SYSTEM), action="grant", login=w.NOBODY, role="system-admin"
    )
    assert _role(world, w.NOBODY) is None  # nothing until confirmed
    # The requester cannot confirm, nor anyone of the same role.
    with pytest.raises(Forbidden):
        appointments.decide_change(
            world.admin, world.actor(w.SYSTEM), change_id=change["id"], confirm=True
        )
    with pytest.raises(Forbidden):
        appointments.decide_change(
            world.admin, world.actor(w.ORG_ADMIN), change_id=change["id"], confirm=True
        )
    done = appointments.decide_change(
        world.admin, world.actor(w.AUDIT), change_id=change["id"], confirm=True
    )
    assert done["status"] == "done"
    assert _role(world, w.NOBODY) == "system-admin"
    granted = _events(world, "admin.role.granted")[-1]
    assert granted.actor == "person:sys" and b'"confirmed_by":"person:aud"' in granted.leaf
    # Refusals are on record, naming who tried.
    refused = _events(world, "admin.refused")
    assert {e.actor for e in refused} >= {"person:sec", "person:sys", "person:orgadm"}
    with pytest.raises(Conflict):
        appointments.decide_change(
            world.admin, world.actor(w.SECURITY), change_id=change["id"], confirm=True
        )


def test_nobody_holds_two_roles(world: w.World) -> None:
    with pytest.raises(RoleConflict):
        appointments.request_change(
            world.admin, world.actor(w.SYSTEM), action="grant", login=w.AUDIT, role="system-admin"
        )


def test_the_last_active_holder_cannot_be_withdrawn(world: w.World) -> None:
    change = appointments.request_change(
        world.admin, world.actor(w.AUDIT), action="withdraw", login=w.AUDIT, role="audit-admin"
    )
    with pytest.raises(Conflict, match="last active"):
        appointments.decide_change(
            world.admin, world.actor(w.SYSTEM), change_id=change["id"], confirm=True
        )
    assert _role(world, w.AUDIT) == "audit-admin"


def test_withdrawal_with_a_second_holder(world: w.World) -> None:
    grant = appointments.request_change(
        world.admin, world.actor(w.AUDIT), action="grant", login=w.NOBODY, role="audit-admin"
    )
    appointments.decide_change(
        world.admin, world.actor(w.SECURITY), change_id=grant["id"], confirm=True
    )
    withdraw = appointments.request_change(
        world.admin, world.actor(w.NOBODY), action="withdraw", login=w.AUDIT, role="audit-admin"
    )
    rejected = appointments.decide_change(
        world.admin, world.actor(w.SYSTEM), change_id=withdraw["id"], confirm=False
    )
    assert rejected["status"] == "rejected" and _role(world, w.AUDIT) == "audit-admin"
    again = appointments.request_change(
        world.admin, world.actor(w.NOBODY), action="withdraw", login=w.AUDIT, role="audit-admin"
    )
    appointments.decide_change(
        world.admin, world.actor(w.SYSTEM), change_id=again["id"], confirm=True
    )
    assert _role(world, w.AUDIT) is None
    assert len(_events(world, "admin.role.withdrawn")) == 1


def test_break_glass_only_when_nobody_active_holds_the_role(world: w.World) -> None:
    with pytest.raises(Conflict, match="break-glass is only"):
        appointments.break_glass(
            world.admin, role="security-admin", login=w.NOBODY, reason="lost all tokens"
        )
    with world.domain.keys.database.transaction() as session:
        accounts.set_disabled(
            session, events=world.domain.audit, login=w.SECURITY, disabled=True, actor="test"
        )
    appointments.break_glass(
        world.admin, role="security-admin", login=w.NOBODY, reason="the only holder is locked out"
    )
    assert _role(world, w.NOBODY) == "security-admin"
    assert _role(world, w.SECURITY) is None
    (event,) = _events(world, "admin.role.break_glass")
    assert event.actor == "server:break-glass" and b"locked out" in event.leaf


def test_second_person_needed_is_recorded(world: w.World) -> None:
    # Someone holding two capacities still cannot confirm their own request.
    grant = appointments.request_change(
        world.admin, world.actor(w.SYSTEM), action="grant", login=w.NOBODY, role="system-admin"
    )
    from dataclasses import replace

    disguised = replace(world.actor(w.SYSTEM), role="audit-admin")
    with pytest.raises(SecondPersonNeeded):
        appointments.decide_change(world.admin, disguised, change_id=grant["id"], confirm=True)
