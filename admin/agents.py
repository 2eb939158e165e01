"""Agent authorisations (经办人授权) as administrators see and change them.

Rules (those of an organisation's members, ``admin.organisations``): the system
administrator, or an administrator of the organisation (单位管理员, acting for it in this
act), offers a person an authorisation to act for the organisation — for all business or
for listed apps, for a period — and revokes it; nobody authorises themselves, and a
machine client (a service account with ``org:admin``) neither offers nor revokes: whom an
organisation trusts to act for it is a person's decision (``policy.require_person``). The three
platform roles and the organisation's administrators read its authorisations. The person
accepts or declines on their account page (``idp.api.agents``), not here. Revocation takes
effect at once (``idp.agents.revoke`` and ``complete``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from admin import paging, policy, versions
from admin.actors import SYSTEM, Actor
from admin.errors import Conflict, Forbidden, Invalid, NotFound
from admin.people import find as find_person
from admin.service import Administration
from idp import agents
from idp import repository as idp_repository
from idp.models import AgentAuthorisation, Organisation, User


def view(authorisation: AgentAuthorisation, user: User) -> dict[str, Any]:
    """The API view of an authorisation."""
    return {
        "id": authorisation.id,
        "organisation_id": authorisation.organisation_id,
        "person_id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "scope": authorisation.scope,
        "apps": list(authorisation.client_ids),
        "valid_from": versions.instant(authorisation.valid_from),
        "valid_until": versions.instant(authorisation.valid_until),
        "status": authorisation.status,
        "current": agents.is_current(authorisation, client_id=None),
        "offered_by": authorisation.offered_by,
        "created_at": versions.instant(authorisation.created_at),
        "decided_at": versions.instant(authorisation.decided_at),
        "ended_at": versions.instant(authorisation.ended_at),
        "ended_by": authorisation.ended_by,
    }


def _organisation(session: Session, actor: Actor, ref: str, *, manage: bool) -> Organisation:
    """The organisation if the actor may read (``manage``: change) its authorisations;
    anyone else is refused before we say whether it exists."""
    found = idp_repository.organisation(session, ref.strip().upper()) or (
        idp_repository.organisation(session, ref.strip())
    )
    organisation_id = found.id if found is not None else ref
    if manage:
        policy.require_role_or_org_admin(actor, SYSTEM, organisation_id=organisation_id)
    elif not policy.reads_everything(session, actor):
        policy.require_org_admin(actor, organisation_id)
    if found is None:
        raise NotFound(f"there is no organisation {ref!r}")
    return found


def offer(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    person: str,
    scope: str,
    apps: list[str],
    valid_from: datetime,
    valid_until: datetime,
) -> dict[str, Any]:
    """Authorise a person to act for the organisation; it waits for them to accept."""
    with admin.acting(actor, "organisations.authorise_agent") as session:
        policy.require_person(actor, what="an agent authorisation")
        organisation = _organisation(session, actor, ref, manage=True)
        user = find_person(session, person)
        if user is None:
            raise NotFound(f"there is no person {person!r}")
        if user.id == actor.id:
            raise Forbidden(
                "nobody authorises themselves to act for an organisation",
                needed=["another administrator"],
            )
        try:
            authorisation = agents.offer(
                session,
                events=admin.events,
                organisation=organisation,
                user=user,
                scope=scope,
                client_ids=apps,
                valid_from=valid_from,
                valid_until=valid_until,
                actor=actor.label,
            )
        except agents.AgentError as exc:
            raise Invalid(str(exc)) from None
        return view(authorisation, user)


def list_agents(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The organisation's authorisations (every state), by id; ended periods are noticed
    first (``agent.expired``)."""
    agents.notice_expiries(admin.identity)
    with admin.reading(actor, "organisations.agents") as session:
        organisation = _organisation(session, actor, ref, manage=False)
        rows = idp_repository.agents_page(
            session, organisation_id=organisation.id, after=paging.decode(cursor), limit=limit + 1
        )
        return paging.page(rows, limit=limit, key=lambda row: row[0].id).map(lambda row: view(*row))


def _authorisation(
    session: Session, organisation: Organisation, authorisation_id: str, *, for_update: bool
) -> tuple[AgentAuthorisation, User]:
    found = idp_repository.agent_authorisation(session, authorisation_id, for_update=for_update)
    user = idp_repository.user(session, found.user_id) if found is not None else None
    if found is None or user is None or found.organisation_id != organisation.id:
        raise NotFound(f"{organisation.name} has no authorisation {authorisation_id!r}")
    return found, user


def get(admin: Administration, actor: Actor, *, ref: str, authorisation_id: str) -> dict[str, Any]:
    """One of the organisation's authorisations."""
    with admin.reading(actor, "organisations.agents") as session:
        organisation = _organisation(session, actor, ref, manage=False)
        return view(*_authorisation(session, organisation, authorisation_id, for_update=False))


def revoke(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    authorisation_id: str,
    if_match: str | None = None,
) -> dict[str, Any]:
    """End an offered or accepted authorisation now: the grants made under it are revoked,
    sessions acting under it choose again."""
    with admin.acting(actor, "organisations.revoke_agent") as session:
        policy.require_person(actor, what="revoking an agent authorisation")
        organisation = _organisation(session, actor, ref, manage=True)
        authorisation, user = _authorisation(
            session, organisation, authorisation_id, for_update=True
        )
        versions.check(if_match, view(authorisation, user))
        try:
            ended = agents.revoke(
                session, events=admin.events, authorisation=authorisation, actor=actor.label
            )
        except agents.AgentError as exc:
            raise Conflict(str(exc)) from None
        result = view(authorisation, user)
    agents.complete(admin.identity, [ended])
    return result
