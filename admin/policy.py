"""The checks every administrative act starts with: the role it needs, the organisation
it touches, and four eyes. Each raises a refusal the service records (see ``service``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from admin.actors import ROLE_NAMES, SETUP, Actor
from admin.errors import Forbidden, SecondPersonNeeded
from idp import repository as idp_repository
from idp.models import PLATFORM_ROLES


def require_role(actor: Actor, *roles: str) -> None:
    """The actor acts in one of ``roles``."""
    if actor.role not in roles:
        needed = " or ".join(ROLE_NAMES[r] for r in roles)
        raise Forbidden(f"{actor.label} does not act as {needed}", needed=list(roles))


def require_role_or_org_admin(actor: Actor, *roles: str, organisation_id: str) -> None:
    """The actor acts in one of ``roles`` or administers the organisation."""
    if actor.role in roles or actor.administers(organisation_id):
        return
    needed = [*(ROLE_NAMES[r] for r in roles), "单位管理员 administrator of the organisation"]
    raise Forbidden(f"{actor.label} does not act as {' or '.join(needed)}", needed=list(roles))


def require_org_admin(actor: Actor, organisation_id: str) -> None:
    """The actor administers the organisation (单位管理员), in this act."""
    if not actor.administers(organisation_id):
        raise Forbidden(
            f"{actor.label} does not act as an administrator of organisation {organisation_id}",
            needed=["org-admin"],
        )


def require_other_person(actor: Actor, first: str, *, what: str) -> None:
    """Four eyes: ``actor`` is not ``first`` (the label of who started the act)."""
    if actor.label == first:
        raise SecondPersonNeeded(f"{what} must be done by someone other than {first}")


def require_person(actor: Actor, *, what: str) -> None:
    """Decisions (approvals, appointments) are made by people: a service account automates
    routine acts but never decides in a person's place, nor for itself."""
    if actor.kind != "person":
        raise Forbidden(f"{what} is decided by a person, not by {actor.label}", needed=["person"])


def require_role_or_setup(session: Session, actor: Actor, *roles: str) -> None:
    """The actor acts in one of ``roles``, or is the server operator setting up a new
    installation: before ``tongxing admin bootstrap`` appoints anyone, the first people,
    organisations and clients are made on the server without a role (bootstrap needs
    people to appoint). From the first appointment on, nobody acts without a role — role
    rows are never all removed (the last holder cannot be withdrawn; break-glass replaces)."""
    if actor.kind == "server" and actor.id == SETUP:
        if setting_up(session, actor):
            return
        raise Forbidden(
            "administrator roles are held on this installation: say who acts (--as LOGIN)",
            needed=list(roles),
        )
    require_role(actor, *roles)


def setting_up(session: Session, actor: Actor) -> bool:
    """Whether the actor is the server operator of an installation nobody administers yet
    (who may then read and make what :func:`require_role_or_setup` allows)."""
    return (
        actor.kind == "server"
        and actor.id == SETUP
        and not idp_repository.platform_role_holders(session)
    )


def organisations_read(session: Session, actor: Actor) -> frozenset[str] | None:
    """The ids of the organisations whose things ``actor`` may list: None for everything
    (the platform roles, the operator setting up), else those it administers; refused when
    it is neither."""
    if reads_everything(session, actor):
        return None
    if not actor.organisations:
        require_role(actor, *PLATFORM_ROLES)
    return actor.organisations


def reads_everything(session: Session, actor: Actor) -> bool:
    """Whether the actor reads every person, organisation and client: the three platform
    roles do (auditors need the context), and the operator setting up."""
    return actor.role in PLATFORM_ROLES or setting_up(session, actor)
