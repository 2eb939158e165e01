"""``/admin/v1/token-exchange-pairs``: which app may exchange its tokens for which of our
resource servers (RFC 8693) — the system administrator changes them, the platform roles
read (rules in ``admin.token_exchange``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import Field

from admin import token_exchange
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep
from admin.api.responses import ACT, READ

router = APIRouter(prefix="/admin/v1/token-exchange-pairs", tags=["admin: clients"])


class NewPair(StrictBody):
    """An app allowed to exchange its tokens for a resource server."""

    client_id: str = Field(min_length=1, max_length=64)
    resource: str = Field(min_length=1, max_length=64, description="e.g. /seal")
    scopes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=10, description="Default: every scope of the target"
    )


@router.get("", responses=READ)
def list_pairs(admin: AdministrationDep, actor: ActorDep) -> dict[str, Any]:
    """Every registered pair."""
    return token_exchange.list_pairs(admin, actor)


@router.post("", status_code=201, responses=ACT)
def allow(
    admin: AdministrationDep, actor: ActorDep, body: Annotated[NewPair, Body()]
) -> dict[str, Any]:
    """Allow an app to exchange its tokens (system administrator)."""
    return token_exchange.allow(
        admin, actor, client_id=body.client_id, resource=body.resource, scopes=body.scopes
    )


@router.delete("/{client_id}", status_code=204, responses=ACT)
def withdraw(
    admin: AdministrationDep,
    actor: ActorDep,
    client_id: Annotated[str, Path(min_length=1, max_length=64)],
    resource: Annotated[str, Query(min_length=1, max_length=64)],
) -> Response:
    """Withdraw a pair (system administrator)."""
    token_exchange.withdraw(admin, actor, client_id=client_id, resource=resource)
    return Response(status_code=204)
