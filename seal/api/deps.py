"""``Annotated`` dependency aliases handing request handlers the sealing service and its
callers' tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from core.api.deps import runtime_of
from keys.access_tokens import AccessToken
from keys.api.bearer import require_scope
from seal.delegation import check_caller, is_delegated
from seal.runtime import SealingService

SCOPE = "seal:sign"
RESOURCE = "/seal"


async def get_sealing(request: Request) -> SealingService:
    """The sealing service of the app serving this request."""
    return runtime_of(request.app).get(SealingService)


SealingDep = Annotated[SealingService, Depends(get_sealing)]
# A Bearer token for <issuer>/seal with scope seal:sign (RFC 6750; see keys.api.bearer).
SealToken = Annotated[AccessToken, Depends(require_scope(scope=SCOPE, resource=RESOURCE))]


async def _caller(service: SealingDep, token: SealToken) -> AccessToken:
    """The sealing token, with the checks of a token exchanged for a person (RFC 8693:
    ``seal.delegation.check_caller``)."""
    # A machine token has nothing more to check: no hop to the thread pool (one per sealing
    # as a sync dependency); an exchanged token's checks may ask the store, off the loop.
    if is_delegated(token):
        await run_in_threadpool(check_caller, service, token)
    return token


# A SealToken; one exchanged for a person must also be unrevoked and strong enough.
SealCaller = Annotated[AccessToken, Depends(_caller)]
