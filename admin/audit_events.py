"""The audit administrator's look at the audit log: events filtered and paged, and one
event with the proof that it is in the tree the newest signed checkpoint commits to.

Rules: only the audit administrator (审计管理员) reads events; everyone else is refused, and
the refusal is itself an event. Lists run newest first (keyset on the entry index, so a
page never shifts while new events arrive). Each event carries its exact leaf bytes
(base64), so a reader can recompute the RFC 9162 leaf hash SHA-256(0x00 || leaf), fold the
audit path with SHA-256(0x01 || left || right) to the checkpoint's root hash and check the
checkpoint's signature with the log key (``/audit/v1/key``): trusting nothing we say.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from admin import paging, policy
from admin.actors import AUDIT, Actor
from admin.errors import Invalid, NotFound
from admin.service import Administration
from audit import merkle, repository
from audit.models import AuditEntry


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _details(leaf: bytes) -> Any:
    # A row edited by hand may not even be JSON: show its bytes, and no details.
    try:
        decoded = json.loads(leaf)
    except (ValueError, RecursionError):
        return None
    return decoded.get("details") if isinstance(decoded, dict) else None


def event_view(row: AuditEntry) -> dict[str, Any]:
    """The API view of one entry: its columns, its details as the leaf states them, and the
    leaf itself (base64), which is what is hashed."""
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return {
        "index": row.index,
        "type": row.type,
        "actor": row.actor,
        "subject": row.subject,
        "created_at": created.astimezone(UTC).isoformat(),
        "details": _details(row.leaf),
        "leaf": _b64(row.leaf),
    }


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time from a query (None stays None); a date that does not exist, such as
    2026-02-30, is refused."""
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:
        raise Invalid(f"{text!r} is not a time (RFC 3339)") from None


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    # A time without an offset is read as UTC (the log's own clock).
    try:
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-05:00 is after the last representable moment
        raise Invalid("the time is out of range") from None


def _cursor(cursor: str | None) -> int | None:
    key = paging.decode(cursor)
    if key is None:
        return None
    if not key.isdigit() or len(key) > 19:
        raise Invalid("the cursor is not one this server gave out")
    return int(key)


def events(
    admin: Administration,
    actor: Actor,
    *,
    type: str | None = None,
    by: str | None = None,
    subject: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: str | None = None,
    limit: int = paging.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """One page of events, newest first (``by`` filters on the actor; ``type`` ending in
    ``.`` is a prefix; ``since`` inclusive, ``until`` exclusive)."""
    before = _cursor(cursor)
    if not 1 <= limit <= paging.MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {paging.MAX_LIMIT}")
    with admin.reading(actor, "audit.events") as session:
        policy.require_role(actor, AUDIT)
        rows = repository.entries_newest_first(
            session,
            before=before,
            limit=limit + 1,
            type=type,
            actor=by,
            subject=subject,
            since=_utc(since),
            until=_utc(until),
        )
        return paging.page(rows, limit=limit, key=lambda row: str(row.index)).map(event_view)


def event(admin: Administration, actor: Actor, *, index: int) -> dict[str, Any]:
    """One event, with its inclusion proof against the newest signed checkpoint (RFC 9162
    §2.1.3) and that checkpoint's signed note; ``proof`` and ``checkpoint`` are null while
    no checkpoint covers the event yet."""
    with admin.reading(actor, "audit.event") as session:
        policy.require_role(actor, AUDIT)
        row = repository.entry(session, index)
        if row is None:
            raise NotFound(f"there is no audit event {index}")
        view = {**event_view(row), "leaf_hash": _b64(merkle.leaf_hash(row.leaf))}
        latest = repository.latest_checkpoint(session)
        if latest is None or latest.tree_size <= index:
            return {**view, "proof": None, "checkpoint": None}
        size = int(latest.tree_size)
        hashes = merkle.inclusion_proof(
            index, size=size, fetch=lambda keys: repository.nodes(session, keys)
        )
        return {
            **view,
            "proof": {"leaf_index": index, "tree_size": size, "hashes": [_b64(h) for h in hashes]},
            "checkpoint": {
                "tree_size": size,
                "root_hash": _b64(bytes(latest.root_hash)),
                "note": latest.note,
            },
        }
