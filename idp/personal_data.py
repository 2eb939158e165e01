"""A person's copy of their personal data (个人信息保护法 §45, the right to a copy): profile,
organisations, proofing level, factors, consents, connected apps, sign-in history and live
sessions, as one JSON document.

Security contract: the document holds what the person may see about themselves and nothing
that would let anyone act as them: the identity number only masked, factors by name, kind
and dates (never a TOTP secret, a passkey's key or credential id, or a recovery code's
digest), no password hash, no session cookie handles or refresh tokens. The export itself
is an ``account.exported`` audit event in the same transaction as the read; the caller
checks the session is a recent, strong one first (the file gathers everything in one place).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp import connected_apps, consents, history, repository
from idp.models import Authenticator, RecoveryCode, User
from idp.sessions import SsoSession

FORMAT = "tongxing-personal-data/1"
HISTORY_LIMIT = 1000


def _when(moment: datetime | int | None) -> str | None:
    if moment is None:
        return None
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment, UTC)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def export(
    session: Session,
    *,
    events: EventRecorder,
    user: User,
    live_sessions: list[SsoSession],
    issuer: str,
    address: str,
) -> dict[str, Any]:
    """The person's data as a JSON-ready dict; records ``account.exported``."""
    factors = session.scalars(
        select(Authenticator)
        .where(Authenticator.user_id == user.id)
        .order_by(Authenticator.created_at, Authenticator.id)
    ).all()
    unused_codes = session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
    signed_in = {client_id for s in live_sessions for client_id in s.clients}
    document: dict[str, Any] = {
        "format": FORMAT,
        "issuer": issuer,
        "exported_at": _when(datetime.now(UTC)),
        "profile": {
            "id": user.id,
            "username": user.username,
            "display_name": user.display_name,
            "email": user.email,
            "phone": user.phone,
            "phone_verified": user.phone_verified,
            "national_id": user.national_id_masked,
            "created_at": _when(user.created_at),
            "updated_at": _when(user.updated_at),
            "deletion_requested_at": _when(user.deletion_requested_at),
        },
        "proofing": {
            "level": user.proofing_level,
            "method": user.proofing_method,
            "at": _when(user.proofed_at),
        },
        "organisations": [
            {
                "name": organisation.name,
                "uscc": organisation.uscc,
                "role": membership.role,
                "since": _when(membership.created_at),
            }
            for membership, organisation in repository.memberships_of(session, user.id)
        ],
        "factors": [
            {
                "kind": factor.kind,
                "name": factor.name,
                "created_at": _when(factor.created_at),
                "last_used_at": _when(factor.last_used_at),
            }
            for factor in factors
        ],
        "password_set": user.password_hash is not None,
        "recovery_codes_unused": int(unused_codes or 0),
        "consents": [
            {
                "client_id": consent.client_id,
                "scopes": list(consent.scopes),
                "granted_at": _when(consent.granted_at),
            }
            for consent in consents.of_user(session, user.id)
        ],
        "connected_apps": [
            {"client_id": app.client_id, "name": app.name, "consented": app.consented}
            for app in connected_apps.of_user(session, user.id, signed_in=signed_in)
        ],
        "sign_ins": [
            {
                "at": _when(record.at),
                "kind": record.kind,
                "methods": list(record.methods),
                "acr": record.acr,
                "address": record.address,
                "user_agent": record.user_agent,
            }
            for record in history.recent(session, user.id, limit=HISTORY_LIMIT)
        ],
        "sessions": [
            {
                "signed_in_at": _when(s.auth_time),
                "expires_at": _when(s.expires_at),
                "acr": s.acr,
                "amr": list(s.amr),
                "address": s.address,
                "user_agent": s.user_agent,
                "apps": list(s.clients),
            }
            for s in live_sessions
        ],
    }
    events.record(
        session,
        type="account.exported",
        actor=user.id,
        subject=user.id,
        details={"address": address, "sign_ins": len(document["sign_ins"])},
    )
    return document
