"""The rule book of seal applications (申请制章): an organisation administrator files for
their own organisation; a security administrator other than the applicant approves (the
seal is made in the same transaction) or rejects.

Rules: filing needs 单位管理员 of that organisation (not another's, not a platform role);
deciding needs 安全管理员 and a second person (``policy.require_other_person``: whoever filed
never decides, even when they also hold the security role); only a pending application is
decided. The platform administrators see every application, an organisation administrator
their own organisation's; the inbox lists pending applications first, oldest first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from admin import keyset, paging, policy, versions
from admin.actors import SECURITY, Actor
from admin.errors import Conflict, Invalid, NotFound
from admin.seals import readable_organisations, require_readable
from admin.service import Administration
from core.clock import as_utc
from idp import repository as idp_repository
from keys.seal_certificates import SEAL_DAYS
from seal import applications
from seal.models import SealApplication
from seal.registry import RegistryError

_RANK = case((SealApplication.status == "pending", 0), else_=1)


def view(row: SealApplication, *, uploaded: bool | None = None) -> dict[str, Any]:
    """The API view of an application (``uploaded`` saves loading the image to say so)."""
    if uploaded is None:
        uploaded = row.image is not None
    return {
        "id": row.id,
        "organisation": row.organisation_name,
        "uscc": row.organisation_uscc,
        "name": row.name,
        "type": row.type,
        "image": "uploaded" if uploaded else "generated",
        "status": row.status,
        "applicant": row.applicant,
        "decided_by": row.decided_by,
        "reason": row.reason,
        "seal_id": row.seal_id,
        "created_at": as_utc(row.created_at).isoformat(),
        "decided_at": as_utc(row.decided_at).isoformat() if row.decided_at else None,
    }


def _key(row: tuple[SealApplication, bool]) -> str:
    application = row[0]
    rank = 0 if application.status == "pending" else 1
    return keyset.key(created_at=application.created_at, id=application.id, rank=rank)


def _find(session: Session, application_id: str, *, for_update: bool = False) -> SealApplication:
    row = session.get(SealApplication, application_id, with_for_update=for_update)
    if row is None:
        raise NotFound(f"there is no seal application {application_id!r}")
    return row


def apply(
    admin: Administration,
    actor: Actor,
    *,
    organisation: str | None,
    seal_type: str,
    name: str | None = None,
    image_png: bytes | None = None,
) -> dict[str, Any]:
    """File an application for a seal of ``organisation`` (id or USCC; None: the one
    organisation the actor administers in this act)."""
    with admin.acting(actor, "seal_applications.file") as session:
        if organisation is None:
            if len(actor.organisations) != 1:
                policy.require_org_admin(actor, "")  # a refusal on record when there is none
                raise Invalid("say which organisation the seal is for")
            [organisation] = actor.organisations
        found = idp_repository.organisation(session, organisation)
        if found is None:
            raise NotFound(f"there is no organisation {organisation!r}")
        policy.require_org_admin(actor, found.id)
        if found.disabled:
            raise Conflict(f"organisation {found.name} is disabled")
        try:
            row = applications.file(
                session,
                events=admin.events,
                organisation_name=found.name,
                organisation_uscc=found.uscc,
                seal_type=seal_type,
                name=name,
                image_png=image_png,
                actor=actor.label,
            )
        except RegistryError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(row)


def inbox(
    admin: Administration,
    actor: Actor,
    *,
    status: str | None = None,
    organisation: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The applications the actor may see: pending first, then decided, oldest first."""
    with admin.reading(actor, "seal_applications.list") as session:
        scope = readable_organisations(session, actor)
        uploaded = SealApplication.image.is_not(None).label("uploaded")
        query = select(SealApplication, uploaded).where(
            keyset.after(
                paging.decode(cursor),
                created=SealApplication.created_at,
                ident=SealApplication.id,
                rank=_RANK,
            )
        )
        if scope is not None:
            query = query.where(SealApplication.organisation_uscc.in_(scope))
        if organisation:
            found = idp_repository.organisation(session, organisation)
            uscc = found.uscc if found else organisation
            query = query.where(SealApplication.organisation_uscc == uscc)
        if status:
            query = query.where(SealApplication.status == status)
        query = query.order_by(_RANK, SealApplication.created_at, SealApplication.id)
        rows = [(r[0], bool(r[1])) for r in session.execute(query.limit(limit + 1))]
        return paging.page(rows, limit=limit, key=_key).map(lambda r: view(r[0], uploaded=r[1]))


def application(admin: Administration, actor: Actor, application_id: str) -> dict[str, Any]:
    """One application."""
    with admin.reading(actor, "seal_applications.read") as session:
        row = _find(session, application_id)
        require_readable(session, actor, row.organisation_uscc, what=f"{application_id}")
        return view(row)


def image(admin: Administration, actor: Actor, application_id: str) -> bytes:
    """The uploaded image of an application (NotFound when the seal is to be drawn)."""
    with admin.reading(actor, "seal_applications.image") as session:
        row = _find(session, application_id)
        require_readable(session, actor, row.organisation_uscc, what=f"{application_id}")
        if row.image is None:
            raise NotFound("this application has no uploaded image: the seal will be drawn")
        return row.image


def _decision(session: Session, actor: Actor, application_id: str) -> SealApplication:
    policy.require_role(actor, SECURITY)
    policy.require_person(actor, what="a seal application")
    row = _find(session, application_id, for_update=True)
    policy.require_other_person(actor, row.applicant, what="deciding a seal application")
    if row.status != "pending":
        raise Conflict(f"the application {application_id} is already {row.status}")
    return row


def approve(
    admin: Administration,
    actor: Actor,
    *,
    application_id: str,
    days: int = SEAL_DAYS,
    if_match: str | None = None,
) -> dict[str, Any]:
    """Approve an application: the seal (key, certificate, image) is made now."""
    if not 1 <= days <= 3650:
        raise Invalid("days must be 1 to 3650")
    with admin.acting(actor, "seal_applications.approve") as session:
        row = _decision(session, actor, application_id)
        versions.check(if_match, view(row))
        found = idp_repository.organisation(session, row.organisation_uscc)
        if found is None or found.disabled:
            raise Conflict(f"organisation {row.organisation_name} is gone or disabled")
        try:
            applications.approve(
                session,
                hierarchy=admin.keys.hierarchy,
                application=row,
                actor=actor.label,
                font=admin.settings.seal_font,
                days=days,
            )
        except RegistryError as exc:
            raise Conflict(str(exc)) from None
        return view(row)


def reject(
    admin: Administration,
    actor: Actor,
    *,
    application_id: str,
    reason: str,
    if_match: str | None = None,
) -> dict[str, Any]:
    """Reject an application, saying why."""
    with admin.acting(actor, "seal_applications.reject") as session:
        row = _decision(session, actor, application_id)
        versions.check(if_match, view(row))
        try:
            applications.reject(
                session, events=admin.events, application=row, actor=actor.label, reason=reason
            )
        except RegistryError as exc:
            raise Invalid(str(exc)) from None
        return view(row)
