"""CAS ``/serviceValidate`` (2.0) and ``/p3/serviceValidate`` (3.0): a service ticket in, the
person (and, for 3.0, their attributes) out.

Security contract (Apereo CAS Protocol 3.0 §2.5, §2.8, §3.1): the ticket is taken from the
store atomically before anything else is checked, so it can be validated once — a replay,
a different ``service`` (``INVALID_SERVICE``), ``renew`` against a ticket from single
sign-on, or a ``pgtUrl`` (this server issues no proxy-granting tickets:
``UNAUTHORIZED_SERVICE_PROXY``) each fail *and* leave the ticket spent. Also refused with
``INVALID_TICKET``/``INVALID_SERVICE``: a ticket whose SSO session has ended, whose person
is disabled or now below the service's minimum level, or whose service was disabled or
removed since. Every outcome is an audit event naming the service, never the ticket (a
short digest of it instead). Not checked here: who calls (CAS validation is unauthenticated
by design; the ticket is the secret).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from core.store import StoreUnavailable
from idp import agents, assurance, repository
from idp.cas import Ticket, audit, cas_client_id, tickets
from idp.protocol import cas
from idp.runtime import IdentityProvider

log = logging.getLogger("tongxing.idp.cas")


@dataclass(frozen=True)
class Answer:
    """The document to return (always HTTP 200, §2.5.2), XML or JSON (§2.5.1 ``format``)."""

    body: bytes
    ok: bool
    fmt: str = cas.XML

    @property
    def media_type(self) -> str:
        return cas.MEDIA_TYPES[self.fmt]


def _digest(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()[:16]


def validate(idp: IdentityProvider, params: Mapping[str, Sequence[str]], *, version: int) -> Answer:
    """Validate a ticket as ``version`` 2 (no attributes) or 3 of the protocol; the store or
    the database out of reach is ``INTERNAL_ERROR`` (§2.5.3), logged (never the ticket). The
    answer is in the ``format`` asked for; an unsupported one is ``INVALID_REQUEST`` in XML,
    and spends the ticket like any other attempt (§3.1.1)."""
    bad_format: cas.CasError | None = None
    try:
        fmt = cas.response_format(params)
    except cas.CasError as exc:
        fmt, bad_format = cas.XML, exc
    try:
        return _validate(idp, params, version=version, fmt=fmt, bad_format=bad_format)
    except (StoreUnavailable, SQLAlchemyError) as exc:
        log.warning("CAS ticket validation failed", extra={"error": type(exc).__name__})
        message = "the ticket cannot be validated now"
        return Answer(body=cas.failure(cas.INTERNAL_ERROR, message, fmt=fmt), ok=False, fmt=fmt)


def _validate(
    idp: IdentityProvider,
    params: Mapping[str, Sequence[str]],
    *,
    version: int,
    fmt: str,
    bad_format: cas.CasError | None,
) -> Answer:
    ticket = ""
    service_ref = "unknown"
    try:
        request = cas.validation_request(params)
        ticket = request.ticket
        found = tickets(idp).take(request.ticket)
        if found is None:
            raise cas.CasError(cas.INVALID_TICKET, f"ticket {request.ticket} not recognized")
        service_ref = found.service_id
        if bad_format is not None:
            raise bad_format
        if request.service != found.service:
            raise cas.CasError(
                cas.INVALID_SERVICE,
                f"ticket {request.ticket} does not belong to service {request.service}",
            )
        if request.pgt_url is not None:
            raise cas.CasError(
                cas.UNAUTHORIZED_SERVICE_PROXY, "this server does not issue proxy tickets"
            )
        if request.renew and not found.new_login:
            raise cas.CasError(
                cas.INVALID_TICKET, f"ticket {request.ticket} did not come from a new sign-in"
            )
        user, attributes = _person(idp, found)
    except cas.CasError as exc:
        details = {
            "code": exc.code,
            "ticket_digest": _digest(ticket) if ticket else None,
            "version": version,
        }
        if service_ref == "unknown":
            # No ticket of ours was spent (malformed, unknown, used or expired): anyone can
            # send these, so they are logged, not appended to the audit log one by one.
            log.info("CAS validation refused", extra=details)
        else:
            audit(
                idp,
                type="cas.ticket.refused",
                actor="anonymous",
                subject=service_ref,
                details=details,
            )
        return Answer(body=cas.failure(exc.code, exc.message, fmt=fmt), ok=False, fmt=fmt)
    audit(
        idp,
        type="cas.ticket.validated",
        actor=found.user_id,
        subject=found.service_id,
        details={
            "service": found.service,
            "sid": found.sid,
            "version": version,
            "ticket_digest": _digest(ticket),
        },
    )
    body = cas.success(user=user, attributes=attributes if version >= 3 else None, fmt=fmt)
    return Answer(body=body, ok=True, fmt=fmt)


def _person(idp: IdentityProvider, found: Ticket) -> tuple[str, dict[str, Any]]:
    """The person's ``user`` and CAS 3.0 attributes, or :class:`cas.CasError` when the
    ticket no longer stands (session ended, person disabled, service gone or too weak)."""
    if not idp.sessions.alive(found.sid):
        raise cas.CasError(cas.INVALID_TICKET, "the sign-in this ticket came from has ended")
    with idp.database.reading() as session:
        service = repository.cas_service(session, found.service_id)
        if service is None or service.disabled or service.service != found.service:
            raise cas.CasError(cas.INVALID_SERVICE, "the service is no longer registered")
        user = repository.user(session, found.user_id)
        if user is None or user.disabled:
            raise cas.CasError(cas.INVALID_TICKET, "the account is not available")
        level = assurance.level(proofing_level=user.proofing_level, methods=found.methods)
        if level < (service.min_level or 1):
            raise cas.CasError(cas.INVALID_TICKET, "the sign-in is below the service's level")
        attributes: dict[str, Any] = {
            "uid": user.id,
            "username": user.username,
            "name": user.display_name,
            "displayName": user.display_name,
        }
        if found.organisation_id is not None:
            attributes |= _acting_for(session, found, user_id=user.id)
        attributes |= {
            "authenticationDate": cas.instant(found.auth_time),
            "isFromNewLogin": "true" if found.new_login else "false",
            "longTermAuthenticationRequestTokenUsed": "false",
            "acr": assurance.acr(level),
            "amr": assurance.amr(found.methods),
        }
        return user.username, attributes


def _acting_for(session: Session, found: Ticket, *, user_id: str) -> dict[str, Any]:
    """The attributes of the organisation the ticket's person acts for, while they still
    do: a member still a member, an agent (经办人) under a still-current authorisation that
    covers the service (:mod:`idp.agents`)."""
    organisation = repository.organisation(session, str(found.organisation_id))
    role: str | None = None
    if found.agent_authorisation_id is not None:
        authorisation = repository.agent_authorisation(session, found.agent_authorisation_id)
        if (
            authorisation is not None
            and authorisation.user_id == user_id
            and authorisation.organisation_id == found.organisation_id
            and agents.is_current(authorisation, client_id=cas_client_id(found.service_id))
        ):
            role = "agent"
    else:
        membership = repository.membership(
            session, organisation_id=str(found.organisation_id), user_id=user_id
        )
        role = membership.role if membership is not None else None
    if organisation is None or organisation.disabled or role is None:
        raise cas.CasError(cas.INVALID_TICKET, "the person no longer acts for that organisation")
    attributes = {
        "organisationCode": organisation.uscc,
        "organisationName": organisation.name,
        "organisationRole": role,
    }
    if found.agent_authorisation_id is not None:
        attributes["organisationAuthorisationId"] = found.agent_authorisation_id
    return attributes
