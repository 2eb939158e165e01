"""``GET /jwks``: the IdP's token-signing public keys (next, active, recently retired)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from keys.api.deps import KeysDep

router = APIRouter(tags=["keys"])


@router.get(
    "/jwks",
    summary="JSON Web Key Set of the token-signing keys",
    response_class=Response,
    responses={
        200: {
            "description": "The key set (RFC 7517 §5)",
            "content": {"application/jwk-set+json": {"schema": {"type": "object"}}},
        },
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
)
async def jwks(request: Request, keys: KeysDep) -> Response:
    """Cached for five minutes; the next key is published before it signs, so caching is safe.

    Served from bytes computed once per key change (``keys.published``): no database read
    and no thread while the set is fresh (a rotation elsewhere shows within 5 s).
    """
    published = keys.published
    document = published.fresh()
    if document is None:
        document = await run_in_threadpool(published.current)
    return document.response(request.headers.get("if-none-match"))
