"""The token endpoint (RFC 6749 §3.2) and authorization-server metadata (RFC 8414)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from idp import client_secrets
from idp.errors import InvalidRequest, OAuthError, UnsupportedGrantType
from idp.protocol import client_credentials
from idp.protocol.client_authentication import authenticate_client

router = APIRouter(tags=["identity"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANTS = ("client_credentials",)


def _error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers={**NO_STORE, **exc.headers})


@router.post("/token", summary="Token endpoint (client_credentials)")
async def token(request: Request) -> JSONResponse:
    """Issue an access token; errors use RFC 6749 §5.2 codes."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        return _error(InvalidRequest("send the request as application/x-www-form-urlencoded"))
    form = await request.form()
    values: dict[str, str] = {}
    for key in form:
        entries = form.getlist(key)
        if len(entries) != 1 or not isinstance(entries[0], str):
            return _error(InvalidRequest(f"parameter {key} must appear once"))  # RFC 6749 §3.2
        if entries[0] != "":  # RFC 6749 §3.2: an empty parameter counts as omitted
            values[key] = entries[0]
    domain = request.app.state.domain
    try:
        body = await run_in_threadpool(_issue, domain, values, request.headers.get("authorization"))
    except OAuthError as exc:
        return _error(exc)
    return JSONResponse(body, headers=NO_STORE)


def _issue(domain: Any, form: dict[str, str], authorization: str | None) -> dict[str, Any]:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is missing")
    if grant_type not in GRANTS:
        raise UnsupportedGrantType("this grant type is not supported")
    settings = domain.keys.custody.settings
    with domain.keys.database.transaction() as session:
        key = domain.data_keys.get(session, client_secrets.DATA_KEY_PURPOSE)
        client = authenticate_client(
            session, authorization=authorization, form=form, digest_key=key
        )
        return client_credentials.grant(
            session,
            client=client,
            form=form,
            custody=domain.keys.custody,
            issuer=settings.issuer,
            lifetime=timedelta(seconds=settings.access_token_ttl_seconds),
        )


@router.get(
    "/.well-known/oauth-authorization-server", summary="Authorization server metadata (RFC 8414)"
)
def metadata(request: Request) -> JSONResponse:
    """What this authorization server supports today."""
    issuer = request.app.state.domain.keys.custody.settings.issuer
    body = {
        "issuer": issuer,
        "token_endpoint": f"{issuer}/token",
        "jwks_uri": f"{issuer}/jwks",
        "grant_types_supported": list(GRANTS),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": ["seal:sign", "audit:read"],
        "response_types_supported": [],
    }
    return JSONResponse(body, headers={"Cache-Control": "public, max-age=300"})
