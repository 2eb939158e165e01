"""The rule book of seals: who may look at which seal, and who may suspend, resume, revoke
or renew it.

Rules: the three platform administrators see every seal, an organisation administrator
(单位管理员) only their own organisation's; a security administrator (安全管理员) suspends,
resumes, revokes and renews any seal; an organisation administrator may *suspend* (only
suspend) their own organisation's seal — stopping a seal is safe to allow widely, bringing
it back or ending it is not. The change itself (certificate status on CRL/OCSP, the audit
event naming the actor) is ``seal.registry``'s, in the same transaction.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import pem
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin import keyset, paging, policy, versions
from admin.actors import SECURITY, Actor
from admin.errors import Conflict, Forbidden, Invalid, NotFound
from admin.service import Administration
from core.clock import as_utc
from idp import repository as idp_repository
from keys.certificate_status import REVOCATION_REASONS
from keys.seal_certificates import SEAL_DAYS
from seal import registry
from seal.errors import SealError
from seal.models import Seal
from seal.registry import SEAL_TYPE_NAMES_EN, SEAL_TYPES, RegistryError


def readable_organisations(session: Session, actor: Actor) -> list[str] | None:
    """The USCCs of the organisations whose seals ``actor`` may see (None: every one)."""
    ids = policy.organisations_read(session, actor)
    if ids is None:
        return None
    found = (idp_repository.organisation(session, o) for o in sorted(ids))
    return [org.uscc for org in found if org is not None]


def require_readable(session: Session, actor: Actor, uscc: str, *, what: str) -> None:
    """The actor may see things of the organisation ``uscc``."""
    scope = readable_organisations(session, actor)
    if scope is not None and uscc not in scope:
        raise Forbidden(
            f"{actor.label} does not administer the organisation of {what}", needed=["org-admin"]
        )


def organisation_id(session: Session, uscc: str) -> str:
    """The id of the organisation with ``uscc`` ("" when unknown: nobody administers it)."""
    found = idp_repository.organisation(session, uscc)
    return found.id if found is not None else ""


def view(seal: Seal) -> dict[str, Any]:
    """The API view of a seal."""
    return {
        "id": seal.id,
        "organisation": seal.organisation_name,
        "uscc": seal.organisation_uscc,
        "name": seal.name,
        "type": seal.type,
        "type_name": {"zh-CN": SEAL_TYPES[seal.type], "en": SEAL_TYPE_NAMES_EN[seal.type]},
        "status": seal.status,
        "image": seal.image_source,
        "certificate_serial": seal.certificate_serial,
        "valid_from": as_utc(seal.valid_from).isoformat(),
        "valid_until": as_utc(seal.valid_until).isoformat(),
        "created_at": as_utc(seal.created_at).isoformat(),
        "updated_at": as_utc(seal.updated_at).isoformat(),
    }


def find(session: Session, seal_id: str, *, for_update: bool = False) -> Seal:
    """The seal or :class:`NotFound`."""
    try:
        return registry.get(session, seal_id, for_update=for_update)
    except SealError:
        raise NotFound(f"there is no seal {seal_id!r}") from None


def seals(
    admin: Administration,
    actor: Actor,
    *,
    organisation: str | None = None,
    status: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The seals the actor may see, oldest first."""
    with admin.reading(actor, "seals.list") as session:
        scope = readable_organisations(session, actor)
        query = select(Seal).where(
            keyset.after(paging.decode(cursor), created=Seal.created_at, ident=Seal.id)
        )
        if scope is not None:
            query = query.where(Seal.organisation_uscc.in_(scope))
        if organisation:
            found = idp_repository.organisation(session, organisation)
            query = query.where(Seal.organisation_uscc == (found.uscc if found else organisation))
        if status:
            query = query.where(Seal.status == status)
        rows = session.scalars(query.order_by(Seal.created_at, Seal.id).limit(limit + 1)).all()
        return paging.page(
            rows, limit=limit, key=lambda s: keyset.key(created_at=s.created_at, id=s.id)
        ).map(view)


def seal(admin: Administration, actor: Actor, seal_id: str) -> dict[str, Any]:
    """One seal."""
    with admin.reading(actor, "seals.read") as session:
        row = find(session, seal_id)
        require_readable(session, actor, row.organisation_uscc, what=f"seal {seal_id}")
        return view(row)


def image(admin: Administration, actor: Actor, seal_id: str) -> bytes:
    """The seal's image (PNG)."""
    with admin.reading(actor, "seals.image") as session:
        row = find(session, seal_id)
        require_readable(session, actor, row.organisation_uscc, what=f"seal {seal_id}")
        return row.image


def certificate(admin: Administration, actor: Actor, seal_id: str) -> bytes:
    """The seal's current certificate (PEM)."""
    with admin.reading(actor, "seals.certificate") as session:
        row = find(session, seal_id)
        require_readable(session, actor, row.organisation_uscc, what=f"seal {seal_id}")
        try:
            der = registry.certificate(session, row).der
        except SealError as exc:
            raise NotFound(str(exc)) from None
        armored: bytes = pem.armor("CERTIFICATE", der)
        return armored


def _change(
    admin: Administration,
    actor: Actor,
    *,
    action: str,
    seal_id: str,
    if_match: str | None,
    org_admin_may: bool = False,
    **options: Any,
) -> dict[str, Any]:
    with admin.acting(actor, f"seals.{action}") as session:
        if not org_admin_may:
            policy.require_role(actor, SECURITY)
        row = find(session, seal_id, for_update=True)
        if org_admin_may:
            policy.require_role_or_org_admin(
                actor, SECURITY, organisation_id=organisation_id(session, row.organisation_uscc)
            )
        versions.check(if_match, view(row))
        try:
            changed = getattr(registry, action)(
                session,
                hierarchy=admin.keys.hierarchy,
                seal_id=seal_id,
                actor=actor.label,
                **options,
            )
        except RegistryError as exc:
            raise Conflict(str(exc)) from None
        return view(changed)


def suspend(
    admin: Administration, actor: Actor, *, seal_id: str, if_match: str | None = None
) -> dict[str, Any]:
    """Stop a seal for now (security administrator, or an administrator of its organisation)."""
    return _change(
        admin, actor, action="suspend", seal_id=seal_id, if_match=if_match, org_admin_may=True
    )


def resume(
    admin: Administration, actor: Actor, *, seal_id: str, if_match: str | None = None
) -> dict[str, Any]:
    """Lift a suspension (security administrator)."""
    return _change(admin, actor, action="resume", seal_id=seal_id, if_match=if_match)


def revoke(
    admin: Administration,
    actor: Actor,
    *,
    seal_id: str,
    reason: str = "cessation_of_operation",
    if_match: str | None = None,
) -> dict[str, Any]:
    """End a seal for good (security administrator); ``reason`` is RFC 5280's."""
    if reason not in REVOCATION_REASONS:
        raise Invalid(f"the reason must be one of {', '.join(REVOCATION_REASONS)}")
    return _change(admin, actor, action="revoke", seal_id=seal_id, if_match=if_match, reason=reason)


def renew(
    admin: Administration,
    actor: Actor,
    *,
    seal_id: str,
    new_key: bool = False,
    days: int = SEAL_DAYS,
    if_match: str | None = None,
) -> dict[str, Any]:
    """A new certificate for an active seal (security administrator)."""
    if not 1 <= days <= 3650:
        raise Invalid("days must be 1 to 3650")
    return _change(
        admin,
        actor,
        action="renew",
        seal_id=seal_id,
        if_match=if_match,
        new_key=new_key,
        days=days,
    )
