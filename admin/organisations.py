"""Organisations (legal persons) and their members as administrators see and change them.

Rules: the system administrator creates organisations, renames, disables and re-enables
them, and manages the members of any; an organisation's administrator (单位管理员, acting
for it in this act) reads it and manages its members — never another organisation's, and
never its name or state. All three platform roles read every organisation and its members.
An organisation keeps at least one administrator: the last one cannot be removed or made a
plain member (appoint another first), so it is never left without one by accident.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from admin import paging, policy, versions
from admin.actors import SYSTEM, Actor
from admin.errors import Conflict, Forbidden, Invalid, NotFound
from admin.people import find as find_person
from admin.service import Administration
from idp import accounts, organisation_grants
from idp import repository as idp_repository
from idp.accounts import AccountError
from idp.models import Membership, Organisation, User


def view(organisation: Organisation) -> dict[str, Any]:
    """The API view of an organisation."""
    return {
        "id": organisation.id,
        "name": organisation.name,
        "uscc": organisation.uscc,
        "disabled": organisation.disabled,
        "created_at": versions.instant(organisation.created_at),
    }


def member_view(membership: Membership, user: User) -> dict[str, Any]:
    """The API view of a membership (the person's contact details stay on /people)."""
    return {
        "person_id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": membership.role,
        "disabled": user.disabled,
        "since": versions.instant(membership.created_at),
    }


def _find(session: Session, ref: str, *, for_update: bool = False) -> Organisation | None:
    found = idp_repository.organisation(session, ref.strip().upper()) or (
        idp_repository.organisation(session, ref.strip())
    )
    if found is not None and for_update:
        session.refresh(found, with_for_update=True)
    return found


def _may_read(session: Session, actor: Actor, organisation_id: str) -> None:
    if not policy.reads_everything(session, actor):
        policy.require_org_admin(actor, organisation_id)


def _get(session: Session, actor: Actor, ref: str, *, manage: bool) -> Organisation:
    """The organisation if the actor may read it (``manage``: change its members); anyone
    else is refused before we say whether it exists."""
    found = _find(session, ref)
    organisation_id = found.id if found is not None else ref
    if manage:
        policy.require_role_or_org_admin(actor, SYSTEM, organisation_id=organisation_id)
    else:
        _may_read(session, actor, organisation_id)
    if found is None:
        raise NotFound(f"there is no organisation {ref!r}")
    return found


def list_organisations(
    admin: Administration,
    actor: Actor,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Organisations by credit code: every one for platform roles, an organisation
    administrator's own for them."""
    with admin.reading(actor, "organisations.list") as session:
        ids = policy.organisations_read(session, actor)
        rows = idp_repository.organisations_page(
            session, after=paging.decode(cursor), limit=limit + 1, ids=ids
        )
        return paging.page(rows, limit=limit, key=lambda o: o.uscc).map(view)


def get(admin: Administration, actor: Actor, *, ref: str) -> dict[str, Any]:
    """One organisation (by id or credit code)."""
    with admin.reading(actor, "organisations.read") as session:
        return view(_get(session, actor, ref, manage=False))


def create(admin: Administration, actor: Actor, *, name: str, uscc: str) -> dict[str, Any]:
    """A new organisation (system administrator)."""
    with admin.acting(actor, "organisations.create") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        try:
            organisation = accounts.create_organisation(
                session, events=admin.events, name=name, uscc=uscc, actor=actor.label
            )
        except AccountError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(organisation)


def update(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    if_match: str | None,
    name: str | None = None,
    disabled: bool | None = None,
) -> dict[str, Any]:
    """Rename, disable or re-enable an organisation (system administrator). Disabling it
    ends every grant made acting for it, by its members and its agents."""
    ended: organisation_grants.Ended | None = None
    with admin.acting(actor, "organisations.update") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        organisation = _find(session, ref, for_update=True)
        if organisation is None:
            raise NotFound(f"there is no organisation {ref!r}")
        versions.check(if_match, view(organisation))
        if disabled and not organisation.disabled:
            ended = organisation_grants.organisation_disabled(
                session, organisation_id=organisation.id
            )
        try:
            accounts.update_organisation(
                session,
                events=admin.events,
                organisation=organisation,
                actor=actor.label,
                name=name,
                disabled=disabled,
                grants_ended=len(ended.grants) if ended is not None else None,
            )
        except AccountError as exc:
            raise Invalid(str(exc)) from None
        answer = view(organisation)
    if ended is not None:
        organisation_grants.complete(admin.identity, ended)
    return answer


def members(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The members of an organisation, by username."""
    with admin.reading(actor, "organisations.members") as session:
        organisation = _get(session, actor, ref, manage=False)
        rows = idp_repository.members_page(
            session, organisation_id=organisation.id, after=paging.decode(cursor), limit=limit + 1
        )
        return paging.page(rows, limit=limit, key=lambda row: row[1].username).map(
            lambda row: member_view(*row)
        )


def _setup_or_manage(session: Session, actor: Actor, ref: str) -> Organisation:
    if actor.kind == "server":  # the operator setting up, before the first appointment
        policy.require_role_or_setup(session, actor, SYSTEM)
        found = _find(session, ref)
        if found is None:
            raise NotFound(f"there is no organisation {ref!r}")
        return found
    return _get(session, actor, ref, manage=True)


def _keeps_an_admin(session: Session, membership: Membership, user: User) -> None:
    # The organisation's row, locked: two demotions at once are counted one after the other.
    session.get(Organisation, membership.organisation_id, with_for_update=True)
    admins = idp_repository.organisation_admins(session, membership.organisation_id)
    if membership.role == "admin" and [u.id for u in admins] == [user.id]:
        raise Conflict(
            f"{user.username} is the organisation's last administrator: appoint another first"
        )


def set_member(
    admin: Administration, actor: Actor, *, ref: str, person: str, role: str
) -> dict[str, Any]:
    """Make a person a member (or administrator) of an organisation, or change their role."""
    with admin.acting(actor, "organisations.set_member") as session:
        organisation = _setup_or_manage(session, actor, ref)
        user = find_person(session, person)
        if user is None:
            raise NotFound(f"there is no person {person!r}")
        existing = idp_repository.membership(
            session, organisation_id=organisation.id, user_id=user.id
        )
        if user.id == actor.id and (existing is None or (role == "admin" != existing.role)):
            # Otherwise the system administrator could make themselves an organisation's
            # administrator and decide its grants alone.
            raise Forbidden(
                "nobody makes themselves a member or administrator of an organisation",
                needed=["another administrator"],
            )
        if existing is not None and role != "admin":
            _keeps_an_admin(session, existing, user)
        try:
            membership = accounts.add_member(
                session,
                events=admin.events,
                organisation=organisation.id,
                login=user.username,
                role=role,
                actor=actor.label,
            )
        except AccountError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return member_view(membership, user)


def remove_member(admin: Administration, actor: Actor, *, ref: str, person: str) -> None:
    """End a person's membership of an organisation, and every grant they made acting for it
    as a member (an agent authorisation they hold is left to its own end)."""
    with admin.acting(actor, "organisations.remove_member") as session:
        organisation = _get(session, actor, ref, manage=True)
        user = find_person(session, person)
        membership = (
            idp_repository.membership(session, organisation_id=organisation.id, user_id=user.id)
            if user is not None
            else None
        )
        if membership is None or user is None:
            raise NotFound(f"{person!r} is not a member of {organisation.name}")
        _keeps_an_admin(session, membership, user)
        ended = organisation_grants.membership_ended(
            session, organisation_id=organisation.id, user_id=user.id
        )
        accounts.remove_member(
            session,
            events=admin.events,
            membership=membership,
            actor=actor.label,
            grants_ended=len(ended.grants),
        )
    organisation_grants.complete(admin.identity, ended)
