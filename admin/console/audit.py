"""The console's audit browser: the audit administrator's view of the log, each entry
checked in the browser (``/static/admin/audit.js``) against the signed checkpoint and the
log key the auditor pinned; the server only lists entries and serves public proofs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from admin import audit_events
from admin.console.web import Console, ConsoleDep, page

router = APIRouter(prefix="/admin/audit", include_in_schema=False)


def _view(c: Console, filters: dict[str, Any], cursor: str | None) -> Response:
    def build() -> dict[str, Any]:
        events = audit_events.events(
            c.admin,
            c.actor,
            type=filters["type"],
            by=filters["actor"],
            subject=filters["subject"],
            since=filters["since"],
            until=filters["until"],
            cursor=cursor,
            limit=50,
        )
        shown = {k: v for k, v in filters.items() if v is not None and not isinstance(v, datetime)}
        return {
            "events": events,
            "filters": filters,
            "origin": getattr(c.admin.events, "origin", ""),  # a prefill; the key is what counts
            "next_query": urlencode({**shown, "cursor": events["next_cursor"] or ""}),
        }

    return page(c, "audit.html", build)


@router.get("")
async def audit(
    c: ConsoleDep,
    type: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=128)] = None,
    subject: Annotated[str | None, Query(max_length=255)] = None,
    since: Annotated[datetime | None, Query()] = None,
    until: Annotated[datetime | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Events newest first, filtered, 50 a page."""
    filters = {
        "type": type or None,
        "actor": actor or None,
        "subject": subject or None,
        "since": since,
        "until": until,
    }
    return await run_in_threadpool(_view, c, filters, cursor)
