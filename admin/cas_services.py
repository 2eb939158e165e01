"""CAS services (legacy department apps speaking CAS 3.0) as administrators see and change them.

Rules: the system administrator registers a service (its exact URL, a name, optionally the
lowest ``acr`` its sign-ins may have), disables and re-enables it; all three platform roles
read every service. The registration rules themselves (https URL, exact match, uniqueness)
are ``idp.cas_services``'. Single logout posts to the service URL, so a plain-http loopback
URL takes single logout only in demo mode (as a client's back-channel URI does).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from admin import paging, policy, versions
from admin.actors import SYSTEM, Actor
from admin.clients import min_level_of
from admin.errors import Conflict, Invalid, NotFound
from admin.service import Administration
from core.settings import Mode
from idp import assurance, cas_services
from idp import repository as idp_repository
from idp.cas_services import CasServiceError
from idp.models import PLATFORM_ROLES, CasService


def view(service: CasService) -> dict[str, Any]:
    """The API view of a CAS service."""
    return {
        "id": service.id,
        "service": service.service,
        "name": service.name,
        "min_acr": assurance.acr(service.min_level) if service.min_level else None,
        "single_logout": service.single_logout,
        "disabled": service.disabled,
        "created_at": versions.instant(service.created_at),
    }


def _readable(session: Session, actor: Actor) -> None:
    if not policy.reads_everything(session, actor):
        policy.require_role(actor, *PLATFORM_ROLES)


def _found(session: Session, ref: str) -> CasService:
    found = cas_services.find(session, ref)
    if found is None:
        raise NotFound(f"there is no CAS service {ref!r}")
    return found


def list_services(
    admin: Administration,
    actor: Actor,
    *,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """CAS services by URL (platform roles)."""
    with admin.reading(actor, "cas_services.list") as session:
        _readable(session, actor)
        rows = idp_repository.cas_services_page(
            session, after=paging.decode(cursor), limit=limit + 1
        )
        return paging.page(rows, limit=limit, key=lambda s: s.service).map(view)


def get(admin: Administration, actor: Actor, *, ref: str) -> dict[str, Any]:
    """One CAS service, by id or exact URL (platform roles)."""
    with admin.reading(actor, "cas_services.read") as session:
        _readable(session, actor)
        return view(_found(session, ref))


def create(
    admin: Administration,
    actor: Actor,
    *,
    service: str,
    name: str = "",
    min_acr: str | None = None,
) -> dict[str, Any]:
    """Register a CAS service (system administrator)."""
    min_level = min_level_of(min_acr)
    with admin.acting(actor, "cas_services.create") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        if idp_repository.cas_service_by_url(session, service) is not None:
            raise Conflict(f"the service URL {service!r} is already registered")
        try:
            found = cas_services.register(
                session,
                events=admin.events,
                service=service,
                name=name,
                actor=actor.label,
                min_level=min_level,
                loopback_server_uris=admin.settings.mode is Mode.DEMO,
            )
        except CasServiceError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(found)


def update(
    admin: Administration,
    actor: Actor,
    *,
    ref: str,
    if_match: str | None,
    changes: dict[str, Any],
) -> dict[str, Any]:
    """Disable or re-enable a CAS service (system administrator)."""
    if unknown := set(changes) - {"disabled"}:
        raise Invalid(f"these cannot be changed here: {', '.join(sorted(unknown))}")
    with admin.acting(actor, "cas_services.update") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        found = _found(session, ref)
        versions.check(if_match, view(found))
        disabled = changes.get("disabled")
        if disabled is not None:
            cas_services.set_disabled(
                session,
                events=admin.events,
                service=found,
                disabled=bool(disabled),
                actor=actor.label,
            )
        session.flush()
        return view(found)
