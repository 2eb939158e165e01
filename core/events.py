"""The seam through which every package records security-relevant events (key, seal, admin).

``EventRecorder.record`` takes the caller's SQL session, so the event is written in the
same transaction as the change it describes: both land or neither does. The SQL recorder
here keeps events in the ``events`` table; the audit log plugs in behind the same interface.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.database import Base


class Event(Base):
    """One recorded event (canonical JSON details; never document contents or key material)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(255))
    details: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventRecorder(Protocol):
    """Records an event inside the caller's transaction."""

    def record(
        self, session: Session, *, type: str, actor: str, subject: str, details: dict[str, Any]
    ) -> None:
        """Add the event to ``session``; it commits or rolls back with the caller's change."""


def canonical_json(details: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text; floats are refused (they do not round-trip)."""

    def refuse_floats(value: Any) -> Any:
        if isinstance(value, float):
            raise TypeError("event details must not contain floats")
        if isinstance(value, dict):
            return {k: refuse_floats(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [refuse_floats(v) for v in value]
        return value

    return json.dumps(
        refuse_floats(details), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )


class SqlEventRecorder:
    """Keeps events in the ``events`` table."""

    def record(
        self, session: Session, *, type: str, actor: str, subject: str, details: dict[str, Any]
    ) -> None:
        session.add(
            Event(
                type=type,
                actor=actor,
                subject=subject,
                details=canonical_json(details),
                created_at=datetime.now(UTC),
            )
        )
