"""``Annotated`` dependency aliases handing request handlers the process's key services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.api.deps import runtime_of
from keys.access_tokens import AccessTokenVerifier
from keys.runtime import KeyServices


async def get_key_services(request: Request) -> KeyServices:
    """The key services of the app serving this request."""
    return runtime_of(request.app).get(KeyServices)


async def get_token_verifier(request: Request) -> AccessTokenVerifier:
    """The access-token verifier of the app serving this request."""
    return runtime_of(request.app).get(AccessTokenVerifier)


KeysDep = Annotated[KeyServices, Depends(get_key_services)]
TokenVerifierDep = Annotated[AccessTokenVerifier, Depends(get_token_verifier)]
