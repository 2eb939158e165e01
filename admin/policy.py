"""The checks every administrative act starts with: the role it needs, the organisation
it touches, and four eyes. Each raises a refusal the service records (see ``service``)."""

from __future__ import annotations

from admin.actors import ROLE_NAMES, Actor
from admin.errors import Forbidden, SecondPersonNeeded


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
