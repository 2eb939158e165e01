"""The seam through which every package records security-relevant events (key, seal, admin).

``EventRecorder.record`` takes the caller's SQL session, so the event is written in the
same transaction as the change it describes: both land or neither does. The audit log
(``audit.log.AuditLog``) is the implementation the composition root plugs in.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from sqlalchemy.orm import Session


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
