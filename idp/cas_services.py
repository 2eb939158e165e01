"""The registry of CAS services (legacy department apps speaking CAS 3.0).

Security contract: a service URL is an absolute https URL without fragment or user
information (plain http only for a loopback host, as a browser redirect: RFC 8252 §7.3),
at most 512 characters, and unique; ``/cas/login`` later matches it *exactly* (no pattern,
no prefix, no normalisation), so a ticket is never sent anywhere an administrator did not
name. Single-logout requests are posted to the service URL only when it is https, or a
loopback http URL where the caller allows this server to post there (demo mode). Every
change is an audit event in the caller's transaction. Not checked here: who may register
(the rule book, ``admin.cas_services``, checks that).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp import repository
from idp.clients import ClientError, check_uri
from idp.models import CasService


class CasServiceError(ValueError):
    """A registration the rules refuse (the message says which rule)."""


def register(
    session: Session,
    *,
    events: EventRecorder,
    service: str,
    name: str,
    actor: str,
    min_level: int | None = None,
    loopback_server_uris: bool = False,
    service_id: str | None = None,
) -> CasService:
    """Register ``service`` (refused when already registered or against the rules);
    ``service_id`` fixes the id (demo data), otherwise a random one is made."""
    try:
        check_uri(service, what="service URL", loopback_http=True)
    except ClientError as exc:
        raise CasServiceError(str(exc)) from None
    name = name.strip() or (urlsplit(service).hostname or service)
    if len(name) > 128:
        raise CasServiceError("a service name has 1-128 characters")
    if min_level is not None and min_level not in (1, 2, 3, 4):
        raise CasServiceError("a minimum level is 1-4")
    if repository.cas_service_by_url(session, service) is not None:
        raise CasServiceError(f"the service URL {service!r} is already registered")
    found = CasService(
        id=service_id or uuid.uuid4().hex,
        service=service,
        name=name[:128],
        min_level=min_level if min_level and min_level > 1 else None,
        single_logout=urlsplit(service).scheme == "https" or loopback_server_uris,
        disabled=False,
        created_at=datetime.now(UTC),
    )
    session.add(found)
    events.record(
        session,
        type="cas.service.registered",
        actor=actor,
        subject=found.id,
        details={
            "service": service,
            "name": found.name,
            "min_level": found.min_level,
            "single_logout": found.single_logout,
        },
    )
    return found


def find(session: Session, ref: str) -> CasService | None:
    """A service by id or by its exact URL."""
    return repository.cas_service(session, ref) or repository.cas_service_by_url(session, ref)


def set_disabled(
    session: Session, *, events: EventRecorder, service: CasService, disabled: bool, actor: str
) -> bool:
    """Disable (or re-enable) a service; returns whether anything changed. A disabled
    service gets no tickets, its outstanding tickets fail validation, and it gets no
    single-logout requests."""
    if service.disabled == disabled:
        return False
    service.disabled = disabled
    events.record(
        session,
        type="cas.service.disabled" if disabled else "cas.service.enabled",
        actor=actor,
        subject=service.id,
        details={"service": service.service},
    )
    return True
