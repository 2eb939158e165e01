"""A person's sign-in history (method, time, device) for the account page, kept for the
retention period (``sign_in_retention_days``) and then purged (个人信息保护法: no longer than
needed). The audit log keeps its own, tamper-evident record of the same events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from idp.models import SignInRecord


def record(
    session: Session,
    *,
    user_id: str,
    kind: str,
    methods: list[str],
    acr: str,
    address: str,
    user_agent: str,
) -> None:
    """Add one sign-in (``kind`` sign-in) or step-up (``kind`` step-up) to the history."""
    session.add(
        SignInRecord(
            id=uuid.uuid4().hex,
            user_id=user_id,
            at=datetime.now(UTC),
            kind=kind,
            methods=list(methods),
            acr=acr,
            address=address[:64],
            user_agent=user_agent[:200],
        )
    )


def recent(session: Session, user_id: str, *, limit: int = 20) -> list[SignInRecord]:
    """The person's latest sign-ins, newest first."""
    query = (
        select(SignInRecord)
        .where(SignInRecord.user_id == user_id)
        .order_by(SignInRecord.at.desc(), SignInRecord.id)
        .limit(limit)
    )
    return list(session.scalars(query))


def purge(session: Session, *, older_than_days: int, now: datetime | None = None) -> int:
    """Delete history older than the retention period; returns how many rows went."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    result = session.execute(delete(SignInRecord).where(SignInRecord.at < cutoff))
    return int(getattr(result, "rowcount", 0) or 0)
