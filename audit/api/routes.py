"""``/audit/v1``: checkpoints, proofs and the log key are public; entries need ``audit:read``.

Shapes are plain so third parties verify without our code: the checkpoint is signed-note
text; proofs are ``{"leaf_index", "tree_size", "hashes": [base64…]}`` and
``{"first", "second", "hashes": [base64…]}``; entries carry the exact leaf bytes in base64.
"""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from audit import checkpoint as checkpoints_format
from audit import repository
from audit.api.deps import AuditReader, LogDep
from core.api import responses
from core.api.integer_ranges import Int32, Int64, PositiveInt64
from core.errors import Problem

router = APIRouter(prefix="/audit/v1", tags=["audit"])

MAX_ENTRIES = 1000
_RANGE: responses.Responses = {
    400: responses.problem("The range is not in the log (kind invalid-range)")
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _range_problem(detail: str) -> Problem:
    return Problem(status=400, kind="invalid-range", title="Invalid range", detail=detail)


@router.get(
    "/checkpoint",
    response_class=Response,
    summary="The latest signed checkpoint (C2SP signed note)",
    responses={
        200: responses.media("text/plain; charset=utf-8", "The signed note", binary=False),
        404: responses.problem("The log has not signed a checkpoint yet"),
    },
)
def latest_checkpoint(audit_log: LogDep) -> Response:
    """The newest checkpoint as ``text/plain``."""
    with audit_log.database.reading() as session:
        latest = repository.latest_checkpoint(session)
        if latest is None:
            raise Problem(
                status=404,
                kind="no-checkpoint",
                title="No checkpoint yet",
                detail="The log has not signed a checkpoint yet.",
            )
        note = latest.note
    return PlainTextResponse(note, headers={"Cache-Control": "no-cache"})


@router.get(
    "/checkpoints",
    summary="Signed checkpoints in order, for auditors' consistency checks",
    responses=responses.INVALID_REQUEST,
)
def all_checkpoints(
    audit_log: LogDep,
    after: Annotated[Int32, Query(description="Return checkpoints with id > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 1000,
) -> dict[str, Any]:
    """Checkpoint notes with their ids."""
    with audit_log.database.reading() as session:
        rows = repository.checkpoints(session, after_id=after, limit=limit)
        return {"checkpoints": [{"id": row.id, "note": row.note} for row in rows]}


@router.get(
    "/key",
    summary="The log's public key and verifier parameters",
    responses={503: responses.problem("The log has no key yet")},
)
def log_key(audit_log: LogDep) -> dict[str, Any]:
    """The public key that signs checkpoints (ECDSA P-256, signed-note type 0x02)."""
    with audit_log.database.reading() as session:
        public = audit_log.public_key_pem(session)
    if public is None:
        raise Problem(
            status=503, kind="no-log-key", title="No log key", detail="Run `tongxing keys init`."
        )
    der, pem = public
    return {
        "origin": audit_log.origin,
        "key_name": audit_log.origin,
        "key_id": checkpoints_format.key_id(der).hex(),
        "signature_type": "0x02 (ECDSA P-256, SHA-256, ASN.1 DER)",
        "public_key_pem": pem,
    }


@router.get(
    "/entries",
    summary="Log entries [start, end); needs scope audit:read",
    responses={**_RANGE, **responses.BEARER_REFUSED, **responses.INVALID_REQUEST},
)
def entries(
    audit_log: LogDep,
    _reader: AuditReader,
    start: Annotated[Int64, Query()] = 0,
    end: Annotated[Int64 | None, Query()] = None,
) -> JSONResponse:
    """Entries with the exact leaf bytes and their decoded fields."""
    with audit_log.database.reading() as session:
        size = repository.tree_size(session)
        stop = min(size, end if end is not None else size, start + MAX_ENTRIES)
        if start > size or (end is not None and end < start):
            raise _range_problem(f"the log has {size} entries; asked for [{start}, {end})")
        rows = repository.entries(session, start=start, end=stop)
        body = {
            "tree_size": size,
            "entries": [
                {**_fields(row.leaf), "index": row.index, "leaf": _b64(row.leaf)} for row in rows
            ],
        }
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get(
    "/proof/inclusion",
    summary="Inclusion proof of one entry (RFC 9162 §2.1.3)",
    responses={**_RANGE, **responses.INVALID_REQUEST},
)
def inclusion(
    audit_log: LogDep,
    index: Annotated[Int64, Query()],
    tree_size: Annotated[PositiveInt64 | None, Query()] = None,
) -> dict[str, Any]:
    """The audit path; ``tree_size`` defaults to the latest checkpoint's."""
    with audit_log.database.reading() as session:
        size = tree_size or _checkpoint_size(session)
        if size > repository.tree_size(session) or index >= size:
            raise _range_problem(f"entry {index} is not in a tree of size {size}")
        hashes = audit_log.inclusion_proof(session, index=index, size=size)
    return {"leaf_index": index, "tree_size": size, "hashes": [_b64(h) for h in hashes]}


@router.get(
    "/proof/consistency",
    summary="Consistency proof between sizes (RFC 9162 §2.1.4)",
    responses={**_RANGE, **responses.INVALID_REQUEST},
)
def consistency(
    audit_log: LogDep,
    first: Annotated[PositiveInt64, Query()],
    second: Annotated[PositiveInt64 | None, Query()] = None,
) -> dict[str, Any]:
    """The proof that the tree of ``first`` entries is a prefix of the one of ``second``."""
    with audit_log.database.reading() as session:
        size = second or _checkpoint_size(session)
        if first > size or size > repository.tree_size(session):
            raise _range_problem(f"no consistency proof from {first} to {size}")
        hashes = audit_log.consistency_proof(session, first=first, second=size)
    return {"first": first, "second": size, "hashes": [_b64(h) for h in hashes]}


def _fields(leaf: bytes) -> dict[str, Any]:
    # A row edited by hand may not even be JSON; serve its bytes so auditors can see that.
    try:
        decoded = json.loads(leaf)
    except (ValueError, RecursionError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _checkpoint_size(session: Any) -> int:
    latest = repository.latest_checkpoint(session)
    if latest is None or latest.tree_size == 0:
        raise _range_problem("the log has no checkpoint with entries yet")
    return int(latest.tree_size)
