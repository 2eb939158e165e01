"""``Annotated`` dependency alias handing request handlers the process's identity provider."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.api.deps import runtime_of
from idp.runtime import IdentityProvider


async def get_identity_provider(request: Request) -> IdentityProvider:
    """The identity provider of the app serving this request."""
    return runtime_of(request.app).get(IdentityProvider)


IdpDep = Annotated[IdentityProvider, Depends(get_identity_provider)]
