"""``/admin/v1/audit/events``: the audit administrator reads the audit log, newest first, and
one event with its inclusion proof against the newest signed checkpoint."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from admin import audit_events, paging, versions
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import ACT, READ
from core.api.integer_ranges import Int64

router = APIRouter(prefix="/admin/v1/audit", tags=["admin: audit"])
# Text without control characters (a NUL could not even be compared in PostgreSQL).
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"
# An RFC 3339 time (a number of seconds is not one); a time without an offset is UTC.
RFC3339 = r"^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?([Zz]|[+-]\d{2}:\d{2})?$"


@router.get("/events", responses=READ)
def list_events(
    admin: AdministrationDep,
    actor: ActorDep,
    type: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[A-Za-z0-9_.\-]+$",
            description="Event type, e.g. `seal.applied`; ending in `.` it is a prefix "
            "(`admin.` for every administrative event).",
        ),
    ] = None,
    actor_label: Annotated[
        str | None,
        Query(
            alias="actor",
            max_length=128,
            pattern=PRINTABLE,
            description="Who acted, e.g. `person:alice`.",
        ),
    ] = None,
    subject: Annotated[str | None, Query(max_length=255, pattern=PRINTABLE)] = None,
    since: Annotated[
        str | None, Query(pattern=RFC3339, description="From this time (inclusive; RFC 3339).")
    ] = None,
    until: Annotated[
        str | None, Query(pattern=RFC3339, description="Before this time (exclusive; RFC 3339).")
    ] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=paging.MAX_LIMIT)] = paging.DEFAULT_LIMIT,
) -> dict[str, Any]:
    """Audit events, newest first (keyset on the index: `next_cursor` continues with older
    ones). Each carries its exact leaf bytes (base64); the RFC 9162 leaf hash is
    SHA-256(0x00 || leaf). Audit administrator only."""
    return audit_events.events(
        admin,
        actor,
        type=type,
        by=actor_label,
        subject=subject,
        since=audit_events.parse_time(since),
        until=audit_events.parse_time(until),
        cursor=cursor,
        limit=limit,
    )


@router.get("/events/{index}", responses=ACT)
def get_event(
    admin: AdministrationDep,
    actor: ActorDep,
    index: Annotated[Int64, Path()],
    response: Response,
) -> dict[str, Any]:
    """One event with its inclusion proof (`{leaf_index, tree_size, hashes}`, RFC 9162
    §2.1.3, base64 SHA-256 hashes; node = SHA-256(0x01 || left || right)) against the
    newest signed checkpoint, whose signed note is included. Audit administrator only."""
    view = audit_events.event(admin, actor, index=index)
    response.headers["ETag"] = versions.etag(view)
    return view
