"""``GET /jwks``: the IdP's token-signing public keys (next, active, recently retired)."""

from __future__ import annotations

import hashlib
import json

from fastapi import APIRouter, Request, Response

from keys import token_keys
from keys.api.deps import KeysDep

router = APIRouter(tags=["keys"])

CACHE_SECONDS = int(token_keys.PUBLISH_AHEAD.total_seconds())


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
def jwks(request: Request, keys: KeysDep) -> Response:
    """Cached for five minutes; the next key is published before it signs, so caching is safe."""
    with keys.database.reading() as session:
        rows = token_keys.published(session, retention=keys.token_key_retention)
        body = json.dumps(token_keys.jwks(rows), separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={CACHE_SECONDS}", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/jwk-set+json", headers=headers)
