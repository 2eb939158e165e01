"""The administrators' dashboard: what needs attention now, at a glance.

Rules: any platform administrator sees the whole platform (counts of people, organisations,
clients, seals by status, pending seal applications and grants; seals and CA certificates
expiring within 30 days; failed back-channel logout deliveries); the recent audit events
are shown to the audit administrator only (omitted, not empty, for the others). An
organisation administrator sees their organisation's part only (its members, clients,
seals, applications, grants and expiring seals; nothing of the platform). Anyone else is
refused, and the refusal is recorded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from admin import key_status, policy
from admin.actors import AUDIT, SECURITY, SYSTEM, Actor
from admin.audit_events import event_view
from admin.service import Administration
from audit import repository as audit_repository
from core.clock import as_utc
from idp import repository as idp_repository
from idp.models import Organisation
from seal import repository as seal_repository

RECENT_EVENTS = 20
FAILED_DELIVERIES = 20
SEAL_STATUSES = ("active", "suspended", "revoked")


def _seals(counts: dict[str, int]) -> dict[str, int]:
    return {status: counts.get(status, 0) for status in SEAL_STATUSES}


def view(admin: Administration, actor: Actor) -> dict[str, Any]:
    """The dashboard as ``actor`` may see it."""
    with admin.reading(actor, "dashboard.view") as session:
        now = datetime.now(UTC)
        if actor.role not in (SYSTEM, SECURITY, AUDIT):
            if not actor.organisations:
                policy.require_role(actor, SYSTEM, SECURITY, AUDIT)
            return {
                "scope": "organisations",
                "organisations": [
                    _organisation(session, organisation, now=now)
                    for organisation_id in sorted(actor.organisations)
                    if (organisation := idp_repository.organisation(session, organisation_id))
                ],
            }
        total, failed = idp_repository.failed_logout_deliveries(session, limit=FAILED_DELIVERIES)
        cas = key_status.certificate_authorities(session, now=now)
        board: dict[str, Any] = {
            "scope": "platform",
            "counts": {
                **idp_repository.counts(session),
                "seals": _seals(seal_repository.seal_counts(session)),
                "pending_seal_applications": seal_repository.pending_application_count(session),
                "pending_grants": seal_repository.pending_grant_count(session),
                "failed_logout_deliveries": total,
            },
            "seals_expiring": key_status.expiring_seals(session, now=now),
            "ca_certificates_expiring": [
                ca
                for ca in cas
                if ca["days_left"] is not None and ca["days_left"] < key_status.EXPIRY_WINDOW.days
            ],
            "failed_logout_deliveries": [
                {
                    "id": d.id,
                    "client_id": d.client_id,
                    "attempts": d.attempts,
                    "last_error": d.last_error,
                    "updated_at": as_utc(d.updated_at).isoformat(),
                }
                for d in failed
            ],
        }
        if actor.role == AUDIT:
            recent = audit_repository.entries_newest_first(
                session, before=None, limit=RECENT_EVENTS
            )
            board["recent_events"] = [event_view(row) for row in recent]
        return board


def _organisation(session: Session, organisation: Organisation, *, now: datetime) -> dict[str, Any]:
    uscc = organisation.uscc
    return {
        "id": organisation.id,
        "name": organisation.name,
        "uscc": uscc,
        "counts": {
            **idp_repository.organisation_counts(session, organisation.id),
            "seals": _seals(seal_repository.seal_counts(session, organisation_uscc=uscc)),
            "pending_seal_applications": seal_repository.pending_application_count(
                session, organisation_uscc=uscc
            ),
            "pending_grants": seal_repository.pending_grant_count(session, organisation_uscc=uscc),
        },
        "seals_expiring": key_status.expiring_seals(session, now=now, organisation_uscc=uscc),
    }
