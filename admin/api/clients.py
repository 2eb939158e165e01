"""``/admin/v1/clients``: relying parties and service accounts, registered and managed by
the system administrator; a new secret is in the one response that makes it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Response
from pydantic import Field

from admin import clients, versions
from admin.api.bodies import StrictBody
from admin.api.deps import ActorDep, AdministrationDep, IfMatchDep
from admin.api.lists import DEFAULT_LIMIT, Cursor, Limit
from admin.api.responses import ACT, READ, UPDATE

router = APIRouter(prefix="/admin/v1/clients", tags=["admin: clients"])
ClientId = Annotated[str, Path(min_length=1, max_length=64)]
Uri = Annotated[str, Field(min_length=1, max_length=512)]


class NewClient(StrictBody):
    """A client to register (the rules of ``tongxing clients create``)."""

    client_id: str = Field(min_length=3, max_length=64)
    name: str = Field(default="", max_length=128)
    grant_types: list[Literal["authorization_code", "refresh_token", "client_credentials"]] = Field(
        min_length=1, max_length=3
    )
    scopes: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(max_length=32)
    auth_method: (
        Literal["client_secret_basic", "client_secret_post", "private_key_jwt", "none"] | None
    ) = None
    jwks_uri: Uri | None = None
    redirect_uris: list[Uri] = Field(default=[], max_length=20)
    post_logout_redirect_uris: list[Uri] = Field(default=[], max_length=20)
    backchannel_logout_uri: Uri | None = None
    pairwise_sector: str | None = Field(default=None, max_length=255)
    first_party: bool = False
    id_token_alg: Literal["ES256", "RS256"] | None = None
    owner_organisation_id: str | None = Field(
        default=None, max_length=32, description="The owning organisation (id or credit code)"
    )
    min_acr: str | None = Field(
        default=None,
        max_length=64,
        description="The lowest acr its sign-ins may have (urn:tongxing:loa:1-4); null: none",
    )


class ClientChanges(StrictBody):
    """Fields to change."""

    name: str | None = Field(default=None, min_length=1, max_length=128)
    redirect_uris: list[Uri] | None = Field(default=None, max_length=20)
    post_logout_redirect_uris: list[Uri] | None = Field(default=None, max_length=20)
    disabled: bool | None = None
    min_acr: str | None = Field(
        default=None, max_length=64, description="urn:tongxing:loa:1-4, or null for none"
    )


def _tagged(response: Response, view: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = versions.etag(view)
    return view


def _with_secret(view: dict[str, Any], secret: str | None) -> dict[str, Any]:
    return {**view, "client_secret": secret} if secret else view


@router.get("", responses=READ)
def list_clients(
    admin: AdministrationDep, actor: ActorDep, limit: Limit = DEFAULT_LIMIT, cursor: Cursor = None
) -> dict[str, Any]:
    """Clients by id (an organisation administrator: their organisation's)."""
    return clients.list_clients(admin, actor, limit=limit, cursor=cursor)


@router.post("", status_code=201, responses=ACT)
def create_client(
    admin: AdministrationDep,
    actor: ActorDep,
    body: Annotated[NewClient, Body()],
    response: Response,
) -> dict[str, Any]:
    """Register a client (system administrator). A confidential client's generated
    ``client_secret`` is in this response only: it is never shown again."""
    fields = body.model_dump()
    owner = fields.pop("owner_organisation_id")
    view, secret = clients.create(admin, actor, owner=owner, **fields)
    response.headers["ETag"] = versions.etag(view)
    return _with_secret(view, secret)


@router.get("/{client_id}", responses={**READ, 404: ACT[404]})
def get_client(
    admin: AdministrationDep, actor: ActorDep, client_id: ClientId, response: Response
) -> dict[str, Any]:
    """One client (never its secret); the ETag names this version for a later PATCH."""
    return _tagged(response, clients.get(admin, actor, client_id=client_id))


@router.patch("/{client_id}", responses=UPDATE)
def update_client(
    admin: AdministrationDep,
    actor: ActorDep,
    client_id: ClientId,
    if_match: IfMatchDep,
    body: Annotated[ClientChanges, Body()],
    response: Response,
) -> dict[str, Any]:
    """Rename, replace browser URIs, set or remove (null) the minimum ``min_acr``, disable or
    re-enable (system administrator)."""
    changes = {
        k: v
        for k, v in body.model_dump(include=body.model_fields_set).items()
        if v is not None or k == "min_acr"
    }
    return _tagged(
        response,
        clients.update(admin, actor, client_id=client_id, if_match=if_match, changes=changes),
    )


@router.post("/{client_id}/secret", responses=ACT)
def new_secret(
    admin: AdministrationDep, actor: ActorDep, client_id: ClientId, response: Response
) -> dict[str, Any]:
    """A new generated secret (system administrator): in this response only; the old
    secret stops working at once."""
    view, secret = clients.new_secret(admin, actor, client_id=client_id)
    response.headers["ETag"] = versions.etag(view)
    return _with_secret(view, secret)
