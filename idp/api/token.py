"""The token endpoint (RFC 6749 §3.2), introspection (RFC 7662) and revocation (RFC 7009):
the endpoints where clients authenticate."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from core.api import responses
from core.database import UnstorableText
from idp import client_secrets
from idp.api.deps import IdpDep
from idp.errors import InvalidRequest, OAuthError, UnsupportedGrantType
from idp.models import Client
from idp.protocol import (
    authorization_code,
    client_credentials,
    refresh_token,
    rfc7523,
    rfc7662,
    rfc8693,
)
from idp.protocol.client_authentication import authenticate_client
from idp.runtime import IdentityProvider
from keys import token_keys

router = APIRouter(tags=["identity"])

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
MAX_FORM_FIELDS = 100  # far more than any grant sends; Starlette's parser allows 1,000
GRANTS = ("authorization_code", "refresh_token", "client_credentials", rfc8693.GRANT_TYPE)

# What the endpoints read (they parse the form themselves: RFC 6749 §3.2 rules, OAuth errors).
_CLIENT_AUTHENTICATION = {
    "client_id": {"type": "string"},
    "client_secret": {
        "type": "string",
        "description": "client_secret_post; or send HTTP Basic (client_secret_basic)",
    },
    "client_assertion_type": {"type": "string", "description": "private_key_jwt (RFC 7523)"},
    "client_assertion": {"type": "string"},
}
_CLIENT_REFUSED: responses.Responses = {
    400: responses.oauth_error("The request is malformed or the grant/token is not valid"),
    401: responses.oauth_error("Client authentication failed (invalid_client)"),
}


def _form_body(properties: dict[str, Any], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {**properties, **_CLIENT_AUTHENTICATION},
        "additionalProperties": {"type": "string"},  # ignored; but each name at most once
        "required": list(required),
    }
    return {
        "requestBody": {
            "required": True,
            "content": {"application/x-www-form-urlencoded": {"schema": schema}},
        }
    }


def _error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status, headers={**NO_STORE, **exc.headers})


async def _form(request: Request) -> dict[str, str]:
    """The form parameters; each at most once, empty ones omitted (RFC 6749 §3.2)."""
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != (
        "application/x-www-form-urlencoded"
    ):
        raise InvalidRequest("send the request as application/x-www-form-urlencoded")
    # Parsed here rather than by Starlette's form parser, which costs several times more per
    # request for these few short fields; the decoding is the same (names and values
    # percent-decoded as UTF-8 after reading the bytes as Latin-1, fields split on "&").
    try:
        pairs = parse_qsl(
            (await request.body()).decode("latin-1"),
            keep_blank_values=True,
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError:
        raise InvalidRequest(f"at most {MAX_FORM_FIELDS} parameters") from None
    values: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if key in seen:
            raise InvalidRequest(f"parameter {key} must appear once")
        seen.add(key)
        if value != "":
            values[key] = value
    return values


def _client(idp: IdentityProvider, form: dict[str, str], authorization: str | None) -> Client:
    key = idp.data_key(client_secrets.DATA_KEY_PURPOSE)

    def verify_assertion(client: Client, assertion: str) -> None:
        rfc7523.verify(
            assertion,
            client=client,
            audiences={f"{idp.issuer}/token", idp.issuer},
            client_keys=idp.client_keys,
            store=idp.store,
        )

    return authenticate_client(
        find_client=idp.client,
        authorization=authorization,
        form=form,
        digest_key=key,
        verify_assertion=verify_assertion,
    )


class _NotInMemory(Exception):
    """Something the answer needs is not in this process's memory: answer from a thread."""


def _client_credentials_from_memory(
    idp: IdentityProvider, form: dict[str, str], authorization: str | None
) -> dict[str, Any] | None:
    """The client_credentials token response when all it needs is already in this process's
    memory, computed on the event loop (no thread hop, no database, no store); else None.

    It gives up no guarantee of the threaded path, because it reads the very same caches:
    the client's registration from ``idp.client_cache`` (a disabled client or a rotated
    secret stops everywhere within ``CLIENT_CACHE_SECONDS``, 5 s: an expired entry is not
    used here, the thread reloads it); the active signing key remembered for
    ``ACTIVE_KEY_CACHE_SECONDS`` (5 s, and still published after a rotation elsewhere); the
    data key for secret digests, cached after its first committed use (it never changes).
    Only secret-based client authentication (an HMAC) and software ES256 keys (tens of
    microseconds) qualify: ``private_key_jwt`` needs the store (single-use ``jti``) and maybe
    the client's JWKS, HSM and RSA signatures take too long for the event loop.
    """
    if form.get("grant_type") != "client_credentials" or "client_assertion_type" in form:
        return None
    digest_key = idp.data_keys.cached(client_secrets.DATA_KEY_PURPOSE)
    key = token_keys.remembered_quick_signing_key(idp.custody)
    if digest_key is None or key is None:
        return None

    def remembered_client(client_id: str) -> Client:
        found = idp.client_cache.get(client_id)
        if found is None:
            raise _NotInMemory
        return found

    try:
        client = authenticate_client(
            find_client=remembered_client,
            authorization=authorization,
            form=form,
            digest_key=digest_key,
        )
    except _NotInMemory:
        return None
    return client_credentials.grant(
        None,
        client=client,
        form=form,
        custody=idp.custody,
        issuer=idp.issuer,
        lifetime=idp.access_token_lifetime,
        key=key,
    )


async def _authenticated(
    request: Request,
    idp: IdentityProvider,
    handler: Callable[[IdentityProvider, Client, dict[str, str]], Any],
) -> Any:
    form = await _form(request)
    authorization = request.headers.get("authorization")
    if handler is _issue:
        answer = _client_credentials_from_memory(idp, form, authorization)
        if answer is not None:
            return answer

    def run() -> Any:
        try:
            return handler(idp, _client(idp, form, authorization), form)
        except UnstorableText:
            raise InvalidRequest("parameters must not contain NUL characters") from None

    return await run_in_threadpool(run)


def _issue(idp: IdentityProvider, client: Client, form: dict[str, str]) -> dict[str, Any]:
    grant_type = form.get("grant_type")
    if not grant_type:
        raise InvalidRequest("grant_type is missing")
    if grant_type not in GRANTS:
        raise UnsupportedGrantType("this grant type is not supported")
    if grant_type == "authorization_code":
        return authorization_code.grant(idp, client=client, form=form)
    if grant_type == "refresh_token":
        return refresh_token.grant(idp, client=client, form=form)
    if grant_type == rfc8693.GRANT_TYPE:
        return rfc8693.grant(idp, client=client, form=form)
    # A session only to load the signing key, which this process usually remembers.
    remembered = token_keys.remembered_signing_key(idp.custody) is not None
    with nullcontext() if remembered else idp.database.reading() as session:
        return client_credentials.grant(
            session,
            client=client,
            form=form,
            custody=idp.custody,
            issuer=idp.issuer,
            lifetime=idp.access_token_lifetime,
        )


@router.post(
    "/token",
    summary="Token endpoint",
    responses=_CLIENT_REFUSED,
    openapi_extra=_form_body(
        {
            "grant_type": {"type": "string", "enum": list(GRANTS)},
            "code": {"type": "string"},
            "redirect_uri": {"type": "string"},
            "code_verifier": {"type": "string"},
            "refresh_token": {"type": "string"},
            "scope": {"type": "string"},
            "resource": {"type": "string"},
            "audience": {"type": "string"},
            "subject_token": {"type": "string"},
            "subject_token_type": {"type": "string"},
            "requested_token_type": {"type": "string"},
        },
        required=("grant_type",),
    ),
)
async def token(request: Request, idp: IdpDep) -> JSONResponse:
    """Issue tokens (authorization_code, refresh_token, client_credentials, token exchange
    per RFC 8693); errors use RFC 6749 §5.2 codes."""
    try:
        body = await _authenticated(request, idp, _issue)
    except OAuthError as exc:
        return _error(exc)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/introspect",
    summary="Token introspection (RFC 7662)",
    responses=_CLIENT_REFUSED,
    openapi_extra=_form_body(
        {"token": {"type": "string"}, "token_type_hint": {"type": "string"}}, required=("token",)
    ),
)
async def introspect(request: Request, idp: IdpDep) -> JSONResponse:
    """Whether a token is active, for the client it was issued to."""

    def run(idp: IdentityProvider, client: Client, form: dict[str, str]) -> dict[str, Any]:
        return rfc7662.introspect(idp, client=client, token=form.get("token", ""))

    try:
        body = await _authenticated(request, idp, run)
    except OAuthError as exc:
        return _error(exc)
    return JSONResponse(body, headers=NO_STORE)


@router.post(
    "/revoke",
    summary="Token revocation (RFC 7009)",
    responses=_CLIENT_REFUSED,
    openapi_extra=_form_body(
        {"token": {"type": "string"}, "token_type_hint": {"type": "string"}}, required=("token",)
    ),
)
async def revoke(request: Request, idp: IdpDep) -> Response:
    """Revoke a token's grant; 200 whether or not the token was known."""

    def run(idp: IdentityProvider, client: Client, form: dict[str, str]) -> None:
        if "token" not in form:
            raise InvalidRequest("token is missing")
        rfc7662.revoke(idp, client=client, token=form["token"])

    try:
        await _authenticated(request, idp, run)
    except OAuthError as exc:
        return _error(exc)
    return Response(status_code=200, headers=NO_STORE)
