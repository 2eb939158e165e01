"""Versions of administered resources for optimistic concurrency (RFC 9110 §8.8.3, §13.1.1).

An entity tag is a digest of the resource's API view, so any change to what a client can
see changes it; an update names the tag it read (``If-Match``) and is refused with 412 when
the resource changed since. The comparison happens inside the updating transaction, after
the row is read for update, so two concurrent updates with the same tag cannot both win.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from admin.errors import PreconditionFailed
from core.events import canonical_json


def etag(view: Mapping[str, Any]) -> str:
    """The strong entity tag of a resource's view."""
    return '"' + hashlib.sha256(canonical_json(dict(view)).encode()).hexdigest()[:32] + '"'


def check(if_match: str | None, view: Mapping[str, Any]) -> None:
    """Refuse the update unless ``if_match`` names the current version (``*`` matches any;
    None means the caller asked for no precondition: the CLI on the server)."""
    if if_match is None:
        return
    tags = [t.strip() for t in if_match.split(",") if t.strip()]
    if "*" in tags:
        return
    current = etag(view)
    # RFC 9110 §13.1.1: If-Match uses the strong comparison; weak tags never match.
    if current not in tags:
        raise PreconditionFailed(
            "the resource has changed since you read it; read it again", etag=current
        )


def instant(moment: datetime | None) -> str | None:
    """A timestamp for a view, the same whichever database it was read from (SQLite gives
    back naive UTC datetimes, PostgreSQL aware ones): a view's ETag must not depend on it."""
    if moment is None:
        return None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()
