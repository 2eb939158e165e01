"""``Annotated`` dependency aliases handing request handlers the sealing service and its
callers' tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.api.deps import runtime_of
from keys.access_tokens import AccessToken
from keys.api.bearer import require_scope
from seal.delegation import check_caller
from seal.runtime import SealingService

SCOPE = "seal:sign"
RESOURCE = "/seal"


async def get_sealing(request: Request) -> SealingService:
    """The sealing service of the app serving this request."""
    return runtime_of(request.app).get(SealingService)


SealingDep = Annotated[SealingService, Depends(get_sealing)]
# A Bearer token for <issuer>/seal with scope seal:sign (RFC 6750; see keys.api.bearer).
SealToken = Annotated[AccessToken, Depends(require_scope(scope=SCOPE, resource=RESOURCE))]


def _caller(service: SealingDep, token: SealToken) -> AccessToken:
    """The sealing token, with the checks of a token exchanged for a person (RFC 8693:
    ``seal.delegation.check_caller``)."""
    check_caller(service, token)
    return token


# A SealToken; one exchanged for a person must also be unrevoked and strong enough.
SealCaller = Annotated[AccessToken, Depends(_caller)]
