"""The userinfo endpoint (OIDC Core §5.3) with RFC 6750 bearer-token errors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from core.api import responses
from idp.api.deps import IdpDep
from idp.protocol import userinfo
from idp.protocol.token_response import USERINFO_PATH
from keys.access_tokens import TokenError
from keys.api.bearer import challenge

router = APIRouter(tags=["identity"])

# Declares the scheme in the OpenAPI document; _token reads the header (or the form, §2.2).
ACCESS_TOKEN = HTTPBearer(
    scheme_name="accessToken",
    description="An access token with scope openid, from the token endpoint",
    auto_error=False,
)
_REFUSED: responses.Responses = {
    401: responses.oauth_error("No token, or the token is not valid (WWW-Authenticate: Bearer)"),
    403: responses.oauth_error("The token lacks the openid scope (WWW-Authenticate: Bearer)"),
}


def _challenge(error: str | None, description: str | None = None) -> JSONResponse:
    body = {"error": error or "invalid_request"}
    if description:
        body["error_description"] = description
    header = challenge(error=error, description=description, scope="openid")
    return JSONResponse(
        body,
        status_code=403 if error == "insufficient_scope" else 401,
        headers={"WWW-Authenticate": header, "Cache-Control": "no-store"},
    )


async def _token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.method == "POST" and request.headers.get("content-type", "").startswith(
        "application/x-www-form-urlencoded"
    ):  # RFC 6750 §2.2
        form = await request.form()
        found = form.get("access_token")
        return found if isinstance(found, str) and found else None
    return None


# One function, two routes: each operation needs its own id (one api_route with both methods
# would give GET and POST the same operationId).
@router.get(
    "/userinfo", summary="UserInfo endpoint", responses=_REFUSED, operation_id="userinfo_get"
)
@router.post(
    "/userinfo", summary="UserInfo endpoint", responses=_REFUSED, operation_id="userinfo_post"
)
async def get_userinfo(
    request: Request,
    idp: IdpDep,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Security(ACCESS_TOKEN)],
) -> JSONResponse:
    """Claims about the person, for an access token with the openid scope."""
    token = await _token(request)
    if token is None:
        return _challenge(None)

    def run() -> dict[str, object]:
        verified = idp.tokens.verify(token, audience=idp.issuer + USERINFO_PATH, scope="openid")
        return userinfo.claims(idp, verified)

    try:
        if idp.store.blocks_on_network or not userinfo.is_cached(idp, token):
            claims = await run_in_threadpool(run)
        else:  # nothing but CPU work left: skip the thread-pool hop
            claims = run()
    except TokenError as exc:
        # Fixed texts from our own checks: nothing from the token is echoed.
        return _challenge(exc.error, str(exc))
    return JSONResponse(claims, headers={"Cache-Control": "no-store"})
