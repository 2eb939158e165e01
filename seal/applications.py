"""Seal applications (申请制章): an organisation asks for a seal; a decision makes it or
turns it down.

Security contract: who may file and who may decide (an organisation administrator files, a
security administrator other than the applicant decides) is the rule book's (``admin``);
this module keeps the states honest — only a pending application is decided, an uploaded
image is checked when filed (``stamp_image.check_uploaded_png``: PNG, size, transparency)
and stored re-encoded, and approval makes the seal (key + certificate) in the caller's
transaction, so an application is approved *and* its seal exists, or neither.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.events import EventRecorder
from keys.hierarchy import Hierarchy
from keys.seal_certificates import SEAL_DAYS
from seal import registry, stamp_image
from seal.models import SealApplication
from seal.registry import SEAL_TYPES, RegistryError


def file(
    session: Session,
    *,
    events: EventRecorder,
    organisation_name: str,
    organisation_uscc: str,
    seal_type: str,
    actor: str,
    name: str | None = None,
    image_png: bytes | None = None,
) -> SealApplication:
    """A pending application for a seal of ``seal_type`` (with an uploaded image, or one
    drawn when the seal is made)."""
    if seal_type not in SEAL_TYPES:
        raise RegistryError(f"unknown seal type {seal_type!r}; one of {', '.join(SEAL_TYPES)}")
    name = (name or "").strip() or None
    if name is not None and len(name) > 100:
        raise RegistryError("the seal name must be 1 to 100 characters")
    image = None
    if image_png is not None:
        try:
            image = stamp_image.check_uploaded_png(image_png)
        except stamp_image.ImageError as exc:
            raise RegistryError(str(exc)) from None
    row = SealApplication(
        id="sealapp_" + uuid.uuid4().hex[:16],
        organisation_uscc=organisation_uscc,
        organisation_name=organisation_name,
        name=name,
        type=seal_type,
        image=image,
        status="pending",
        applicant=actor,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    events.record(
        session,
        type="seal.application.filed",
        actor=actor,
        subject=row.id,
        details={
            "organisation": organisation_uscc,
            "type": seal_type,
            "name": name,
            "image": "uploaded" if image is not None else "generated",
        },
    )
    return row


def _decide(application: SealApplication) -> None:
    if application.status != "pending":
        raise RegistryError(f"the application {application.id} is already {application.status}")


def approve(
    session: Session,
    *,
    hierarchy: Hierarchy,
    application: SealApplication,
    actor: str,
    font: str = "",
    days: int = SEAL_DAYS,
) -> SealApplication:
    """Make the seal applied for (new key and certificate) and link it."""
    _decide(application)
    seal = registry.create_seal(
        session,
        hierarchy=hierarchy,
        organisation_name=application.organisation_name,
        organisation_uscc=application.organisation_uscc,
        seal_type=application.type,
        name=application.name,
        image_png=application.image,
        font=font,
        actor=actor,
        days=days,
    )
    application.status, application.seal_id = "approved", seal.id
    application.decided_by, application.decided_at = actor, datetime.now(UTC)
    hierarchy.events.record(
        session,
        type="seal.application.approved",
        actor=actor,
        subject=application.id,
        details={"seal_id": seal.id, "applicant": application.applicant},
    )
    return application


def reject(
    session: Session,
    *,
    events: EventRecorder,
    application: SealApplication,
    actor: str,
    reason: str,
) -> SealApplication:
    """Turn the application down, saying why."""
    _decide(application)
    reason = reason.strip()
    if not reason or len(reason) > 500:
        raise RegistryError("say why the application is rejected (1 to 500 characters)")
    application.status, application.reason = "rejected", reason
    application.decided_by, application.decided_at = actor, datetime.now(UTC)
    events.record(
        session,
        type="seal.application.rejected",
        actor=actor,
        subject=application.id,
        details={"applicant": application.applicant, "reason": reason},
    )
    return application
