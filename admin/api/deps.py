"""``Annotated`` dependencies of the admin API: the administration service, the acting
person or service account (from the Bearer token), and the update precondition.

Security contract of :func:`current_actor`: the request must carry an access token for the
admin API (audience ``<issuer>/admin``) with at least one administrator scope (401/403 with
an RFC 6750 challenge otherwise, see ``keys.api.bearer``); the actor is then built from the
database (``admin.actors.from_token``), so a token of a disabled account, or for a role
withdrawn since, acts with what remains. A person acts in an administrator role only at
level of assurance 3 (a second factor, on a name proofed to 3 or more): a weaker token, or
one whose person's proofing level was lowered since, gets RFC 9470's 401
``insufficient_user_authentication`` challenge naming ``acr_values``, so the client signs
the person in again more strongly. Service accounts have no sign-in and are exempt.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request

from admin import actors
from admin.actors import Actor
from admin.errors import PreconditionRequired
from admin.service import Administration
from core.api.deps import runtime_of
from core.errors import Problem
from idp import assurance
from idp.role_scopes import ADMIN_RESOURCE, ADMIN_SCOPES
from keys.access_tokens import AccessToken
from keys.api.bearer import challenge, require_scope


async def get_administration(request: Request) -> Administration:
    """The administration service of the app serving this request."""
    return runtime_of(request.app).get(Administration)


AdministrationDep = Annotated[Administration, Depends(get_administration)]
_admin_token = require_scope(scope=ADMIN_SCOPES, resource=ADMIN_RESOURCE)


def current_actor(
    administration: AdministrationDep,
    token: Annotated[AccessToken, Depends(_admin_token)],
) -> Actor:
    """The person or service account this request acts for."""
    with administration.database.reading() as session:
        actor = actors.from_token(session, token)
    if actor is None:
        raise Problem(
            status=401,
            kind="invalid-token",
            title="Invalid access token",
            detail="this token's account, client or grant has ended (disabled, locked, "
            "revoked or gone)",
            headers={
                "WWW-Authenticate": challenge(
                    error="invalid_token",
                    description="the token's account, client or grant has ended",
                    scope=" ".join(sorted(ADMIN_SCOPES)),
                )
            },
        )
    if actor.kind == "person" and (actor.level or 1) < assurance.ADMIN_LEVEL:
        wanted = assurance.acr(assurance.ADMIN_LEVEL)
        raise Problem(
            status=401,
            kind="insufficient-user-authentication",
            title="Stronger sign-in required",
            detail=f"acting as an administrator needs {wanted}; this token is at "
            f"{assurance.acr(actor.level or 1)}",
            headers={
                "WWW-Authenticate": challenge(
                    error="insufficient_user_authentication",
                    description=f"acting as an administrator needs {wanted}",
                    scope=" ".join(sorted(ADMIN_SCOPES)),
                    acr_values=wanted,
                )
            },
        )
    return actor


ActorDep = Annotated[Actor, Depends(current_actor)]


def if_match(
    value: Annotated[
        str | None,
        Header(
            alias="If-Match",
            max_length=512,
            description="The ETag of the version you read (RFC 9110 §13.1.1); required.",
        ),
    ] = None,
) -> str:
    """The update's precondition; 428 when missing (RFC 6585 §3)."""
    if not value:
        raise PreconditionRequired("send If-Match with the ETag from your last read")
    return value


IfMatchDep = Annotated[str, Depends(if_match)]
