"""Appointments to the three platform roles (三权分立): bootstrap, two-person changes, and
break-glass.

Rules: nobody holds two of the roles (the database refuses it too: one row per person);
the first holders are appointed together on the server (``tongxing admin bootstrap``, three
different people, only while nobody holds any role); after that a role is granted or
withdrawn only when a holder of that role asks and a holder of another role confirms; the
last active holder of a role cannot be withdrawn; break-glass on the server restores a role
only when no active person holds it, loudly. Every step is an audit event.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from admin import policy
from admin.actors import ROLE_NAMES, Actor, server
from admin.errors import Conflict, Invalid, NotFound, RoleConflict
from admin.models import RoleChange
from admin.service import Administration
from idp import repository as idp_repository
from idp.models import PLATFORM_ROLES, PlatformRole, User

log = logging.getLogger("tongxing.admin")


def _person(session: Session, login: str) -> User:
    user = idp_repository.user_by_login(session, login) or idp_repository.user(session, login)
    if user is None:
        raise NotFound(f"there is no person {login!r}")
    return user


def _role(role: str) -> str:
    if role not in PLATFORM_ROLES:
        raise Invalid(f"the role must be one of {', '.join(PLATFORM_ROLES)}")
    return role


def _appoint(
    session: Session,
    admin: Administration,
    *,
    user: User,
    role: str,
    by: str,
    confirmed_by: str | None,
    event: str,
    details: dict[str, Any] | None = None,
) -> None:
    held = session.get(PlatformRole, user.id)
    if held is not None:
        raise RoleConflict(
            f"{user.username} already holds {ROLE_NAMES[held.role]}; nobody holds two of the "
            "three administrator roles"
        )
    try:
        with session.begin_nested():  # a concurrent appointment of the same person
            session.add(
                PlatformRole(
                    user_id=user.id,
                    role=role,
                    granted_by=by,
                    confirmed_by=confirmed_by,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError:
        raise RoleConflict(
            f"{user.username} was just given a role; nobody holds two of the three "
            "administrator roles"
        ) from None
    admin.events.record(
        session,
        type=event,
        actor=by,
        subject=user.username,
        details={"role": role, "confirmed_by": confirmed_by, **(details or {})},
    )


def role_view(row: PlatformRole, user: User) -> dict[str, Any]:
    """The API view of one appointment."""
    return {
        "person": user.username,
        "person_id": user.id,
        "display_name": user.display_name,
        "role": row.role,
        "disabled": user.disabled,
        "granted_by": row.granted_by,
        "confirmed_by": row.confirmed_by,
        "since": row.created_at.isoformat(),
    }


def change_view(change: RoleChange, session: Session) -> dict[str, Any]:
    """The API view of a role change."""
    user = idp_repository.user(session, change.user_id)
    return {
        "id": change.id,
        "action": change.action,
        "person": user.username if user else change.user_id,
        "role": change.role,
        "status": change.status,
        "requested_by": change.requested_by,
        "decided_by": change.decided_by,
        "created_at": change.created_at.isoformat(),
        "decided_at": change.decided_at.isoformat() if change.decided_at else None,
    }


def bootstrap(admin: Administration, *, system: str, security: str, audit: str) -> None:
    """Appoint the first holder of each role (on the server, once)."""
    actor = server("bootstrap")
    # Two bootstraps at once would each see no holder: they take turns.
    with admin.database.exclusive("admin-roles"), admin.acting(actor, "roles.bootstrap") as session:
        if session.scalars(select(PlatformRole).limit(1)).first() is not None:
            raise Conflict(
                "administrator roles are already held; change them through the admin API "
                "(two people), or use break-glass if every holder of a role is locked out"
            )
        users = [_person(session, login) for login in (system, security, audit)]
        if len({u.id for u in users}) != 3:
            raise RoleConflict("the three roles need three different people")
        for user, role in zip(users, PLATFORM_ROLES, strict=True):
            _appoint(
                session,
                admin,
                user=user,
                role=role,
                by=actor.label,
                confirmed_by=None,
                event="admin.role.granted",
                details={"how": "bootstrap"},
            )


def holders(admin: Administration, actor: Actor) -> list[dict[str, Any]]:
    """Everyone holding a platform role (any administrator may look)."""
    with admin.reading(actor, "roles.list") as session:
        if actor.role is None:
            policy.require_role(actor, *PLATFORM_ROLES)
        return [role_view(row, user) for row, user in idp_repository.platform_role_holders(session)]


def _locked(session: Session, user: User) -> User:
    """``user`` re-read under a row lock: changes for one person happen one at a time."""
    locked = session.get(User, user.id, with_for_update=True, populate_existing=True)
    assert locked is not None
    return locked


def _active_holders(session: Session, role: str) -> list[User]:
    return [u for _, u in idp_repository.platform_role_holders(session, role) if not u.disabled]


def request_change(
    admin: Administration,
    actor: Actor,
    *,
    action: Literal["grant", "withdraw"],
    login: str,
    role: str,
) -> dict[str, Any]:
    """A holder of ``role`` asks to grant it to, or withdraw it from, a person."""
    role = _role(role)
    with admin.acting(actor, f"roles.{action}") as session:
        policy.require_role(actor, role)
        policy.require_person(actor, what="an appointment")
        user = _locked(session, _person(session, login))
        held = session.get(PlatformRole, user.id)
        if action == "grant":
            if held is not None:
                raise RoleConflict(
                    f"{user.username} already holds {ROLE_NAMES[held.role]}; nobody holds two "
                    "of the three administrator roles"
                )
            if user.disabled:
                raise Conflict(f"{user.username} is disabled")
        elif held is None or held.role != role:
            raise Conflict(f"{user.username} does not hold {ROLE_NAMES[role]}")
        pending = session.scalars(
            select(RoleChange).where(RoleChange.user_id == user.id, RoleChange.status == "pending")
        ).first()
        if pending is not None:
            raise Conflict(f"a change for {user.username} is already waiting ({pending.id})")
        change = RoleChange(
            id="rolechg_" + uuid.uuid4().hex[:16],
            action=action,
            user_id=user.id,
            role=role,
            status="pending",
            requested_by=actor.label,
            created_at=datetime.now(UTC),
        )
        session.add(change)
        session.flush()
        admin.events.record(
            session,
            type="admin.role.change_requested",
            actor=actor.label,
            subject=user.username,
            details={"change": change.id, "action": action, "role": role},
        )
        return change_view(change, session)


def decide_change(
    admin: Administration, actor: Actor, *, change_id: str, confirm: bool
) -> dict[str, Any]:
    """A holder of another role confirms (carrying it out) or rejects a requested change."""
    with admin.acting(actor, "roles.confirm" if confirm else "roles.reject") as session:
        change = session.get(RoleChange, change_id, with_for_update=True)
        if change is None:
            raise NotFound(f"there is no role change {change_id!r}")
        others = [r for r in PLATFORM_ROLES if r != change.role]
        policy.require_role(actor, *others)
        policy.require_other_person(actor, change.requested_by, what="confirming a role change")
        policy.require_person(actor, what="an appointment")
        if change.status != "pending":
            raise Conflict(f"the change {change_id} is already {change.status}")
        found = idp_repository.user(session, change.user_id)
        if found is None:
            raise NotFound("the person of this change is gone")
        user = _locked(session, found)
        # Every holder of the role, locked: two withdrawals confirmed at once are counted
        # one after the other, so the last holder cannot go (PostgreSQL; SQLite writes
        # one transaction at a time anyway).
        session.scalars(
            select(PlatformRole).where(PlatformRole.role == change.role).with_for_update()
        ).all()
        if confirm and change.action == "grant" and user.disabled:
            raise Conflict(f"{user.username} has been disabled since the request")
        change.decided_by, change.decided_at = actor.label, datetime.now(UTC)
        if not confirm:
            change.status = "rejected"
            admin.events.record(
                session,
                type="admin.role.change_rejected",
                actor=actor.label,
                subject=user.username,
                details={"change": change.id, "action": change.action, "role": change.role},
            )
            return change_view(change, session)
        change.status = "done"
        if change.action == "grant":
            _appoint(
                session,
                admin,
                user=user,
                role=change.role,
                by=change.requested_by,
                confirmed_by=actor.label,
                event="admin.role.granted",
                details={"change": change.id},
            )
        else:
            held = session.get(PlatformRole, user.id)
            if held is None or held.role != change.role:
                raise Conflict(f"{user.username} no longer holds {ROLE_NAMES[change.role]}")
            if [u.id for u in _active_holders(session, change.role)] == [user.id]:
                raise Conflict(
                    f"{user.username} is the last active {ROLE_NAMES[change.role]}; appoint "
                    "another holder first"
                )
            session.delete(held)
            admin.events.record(
                session,
                type="admin.role.withdrawn",
                actor=change.requested_by,
                subject=user.username,
                details={"role": change.role, "confirmed_by": actor.label, "change": change.id},
            )
        return change_view(change, session)


def changes(
    admin: Administration, actor: Actor, *, status: str | None = None
) -> list[dict[str, Any]]:
    """Role changes, newest first (any platform administrator may look)."""
    with admin.reading(actor, "roles.changes") as session:
        policy.require_role(actor, *PLATFORM_ROLES)
        query = select(RoleChange).order_by(RoleChange.created_at.desc()).limit(200)
        if status:
            query = query.where(RoleChange.status == status)
        return [change_view(c, session) for c in session.scalars(query)]


def break_glass(admin: Administration, *, role: str, login: str, reason: str) -> None:
    """Restore ``role`` when no active person holds it (on the server; loud and audited)."""
    role = _role(role)
    if len(reason.strip()) < 10:
        raise Invalid("say why (at least 10 characters): the reason is in the audit log")
    actor = server("break-glass")
    with (
        admin.database.exclusive("admin-roles"),
        admin.acting(actor, "roles.break_glass") as session,
    ):
        active = _active_holders(session, role)
        if active:
            raise Conflict(
                f"{ROLE_NAMES[role]} is held by {', '.join(u.username for u in active)}: "
                "break-glass is only for a role nobody active holds"
            )
        user = _person(session, login)
        if user.disabled:
            raise Conflict(f"{user.username} is disabled")
        for row, holder in idp_repository.platform_role_holders(session, role):
            session.delete(row)  # the locked-out holders lose the role they cannot use
            admin.events.record(
                session,
                type="admin.role.withdrawn",
                actor=actor.label,
                subject=holder.username,
                details={"role": role, "how": "break-glass", "reason": reason},
            )
        session.flush()
        _appoint(
            session,
            admin,
            user=user,
            role=role,
            by=actor.label,
            confirmed_by=None,
            event="admin.role.break_glass",
            details={"reason": reason},
        )
    log.warning(
        "BREAK-GLASS: %s appointed %s on the server",
        user.username,
        role,
        extra={"role": role, "person": user.username},
    )
