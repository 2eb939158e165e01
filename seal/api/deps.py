"""``Annotated`` dependency aliases handing request handlers the sealing service and its
callers' tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.api.deps import runtime_of
from keys.access_tokens import AccessToken
from keys.api.bearer import require_scope
from seal.runtime import SealingService

SCOPE = "seal:sign"
RESOURCE = "/seal"


async def get_sealing(request: Request) -> SealingService:
    """The sealing service of the app serving this request."""
    return runtime_of(request.app).get(SealingService)


SealingDep = Annotated[SealingService, Depends(get_sealing)]
# A Bearer token for <issuer>/seal with scope seal:sign (RFC 6750; see keys.api.bearer).
SealToken = Annotated[AccessToken, Depends(require_scope(scope=SCOPE, resource=RESOURCE))]
