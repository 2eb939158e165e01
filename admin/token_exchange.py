"""Token-exchange pairs (RFC 8693) as administrators see and change them: which app may
exchange the tokens people's sign-ins gave it for tokens aimed at which of our resource
servers (rules of the targets in ``idp.token_exchange``).

Rules: like registering clients, the system administrator allows and withdraws a pair (the
operator on a new installation too); the three platform roles read them.
"""

from __future__ import annotations

from typing import Any

from admin import policy, versions
from admin.actors import SYSTEM, Actor
from admin.errors import Invalid, NotFound
from admin.service import Administration
from idp import repository as idp_repository
from idp import token_exchange
from idp.models import TokenExchangePair


def view(pair: TokenExchangePair) -> dict[str, Any]:
    """The API view of a pair."""
    return {
        "client_id": pair.client_id,
        "resource": pair.resource,
        "scopes": list(pair.scopes),
        "created_by": pair.created_by,
        "created_at": versions.instant(pair.created_at),
    }


def list_pairs(admin: Administration, actor: Actor) -> dict[str, Any]:
    """Every pair, by client and resource (a short list: no paging)."""
    with admin.reading(actor, "token_exchange.list") as session:
        if not policy.reads_everything(session, actor):
            policy.require_role(actor, SYSTEM)
        return {"items": [view(p) for p in idp_repository.exchange_pairs(session)]}


def allow(
    admin: Administration, actor: Actor, *, client_id: str, resource: str, scopes: list[str]
) -> dict[str, Any]:
    """Allow an app to exchange its tokens for ``resource`` (system administrator)."""
    with admin.acting(actor, "token_exchange.allow") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        try:
            pair = token_exchange.register(
                session,
                events=admin.events,
                client_id=client_id,
                resource=resource,
                scopes=scopes,
                actor=actor.label,
            )
        except token_exchange.ExchangePairError as exc:
            raise Invalid(str(exc)) from None
        session.flush()
        return view(pair)


def withdraw(admin: Administration, actor: Actor, *, client_id: str, resource: str) -> None:
    """Withdraw a pair (system administrator)."""
    with admin.acting(actor, "token_exchange.withdraw") as session:
        policy.require_role_or_setup(session, actor, SYSTEM)
        try:
            token_exchange.remove(
                session,
                events=admin.events,
                client_id=client_id,
                resource=resource,
                actor=actor.label,
            )
        except token_exchange.ExchangePairError as exc:
            raise NotFound(str(exc)) from None
