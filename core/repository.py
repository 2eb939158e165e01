"""Every SQL statement of ``core``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from core.models import AppInstance


def add_instance(session: Session, instance: AppInstance) -> None:
    """Record a starting app process."""
    session.add(instance)


def mark_instance_stopped(session: Session, *, instance_id: str, when: datetime) -> None:
    """Record that an app process shut down cleanly."""
    session.execute(
        update(AppInstance).where(AppInstance.id == instance_id).values(stopped_at=when)
    )


def recent_instances(session: Session, *, since: datetime) -> Sequence[AppInstance]:
    """Instances still running or stopped after ``since``, newest first."""
    query = (
        select(AppInstance)
        .where(or_(AppInstance.stopped_at.is_(None), AppInstance.stopped_at >= since))
        .order_by(AppInstance.started_at.desc())
        .limit(200)
    )
    return session.scalars(query).all()
