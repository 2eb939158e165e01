"""Which apps may exchange a person's access token for one aimed at which of our resource
servers (RFC 8693): registered pairs of an app (client) and a target, with the scopes the
app may get there. The exchange itself is :mod:`idp.protocol.rfc8693`.

Security contract: only targets listed in :data:`TARGETS` can be registered (never the
admin API: administrator power is never delegated to an app), with scopes among that
target's, for confidential clients only (a public client proves nothing about who asks);
registering and removing a pair is an audit event. Not checked here: who may register
(the rule book, ``admin.token_exchange``).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from core.events import EventRecorder
from idp import repository
from idp.models import TokenExchangePair

# The resource servers an exchanged token may be aimed at (paths under the issuer) and the
# scopes each accepts.
TARGETS: dict[str, frozenset[str]] = {"/seal": frozenset({"seal:sign"})}
# The authentication method of public clients, which never exchange tokens.
PUBLIC = "none"


class ExchangePairError(ValueError):
    """A pair that cannot be registered or removed as asked."""


def register(
    session: Session,
    *,
    events: EventRecorder,
    client_id: str,
    resource: str,
    scopes: Collection[str],
    actor: str,
) -> TokenExchangePair:
    """Allow ``client_id`` to exchange its tokens for ``resource`` with ``scopes``."""
    if resource not in TARGETS:
        raise ExchangePairError(f"the target must be one of {', '.join(sorted(TARGETS))}")
    wanted = sorted(set(scopes) or TARGETS[resource])
    if not set(wanted) <= TARGETS[resource]:
        raise ExchangePairError(
            f"scopes at {resource} are among {', '.join(sorted(TARGETS[resource]))}"
        )
    client = repository.client(session, client_id)
    if client is None or client.disabled:
        raise ExchangePairError(f"there is no active client {client_id!r}")
    if "authorization_code" not in client.grant_types:
        raise ExchangePairError("only apps people sign in to hold tokens to exchange")
    if client.auth_method == PUBLIC:
        raise ExchangePairError(
            "a public client (no client authentication) cannot exchange tokens: "
            "anyone holding a person's token could speak as it"
        )
    if repository.exchange_pair(session, client_id=client_id, resource=resource) is not None:
        raise ExchangePairError(f"{client_id} may exchange tokens for {resource} already")
    pair = TokenExchangePair(
        client_id=client_id,
        resource=resource,
        scopes=wanted,
        created_by=actor,
        created_at=datetime.now(UTC),
    )
    session.add(pair)
    events.record(
        session,
        type="token_exchange.allowed",
        actor=actor,
        subject=client_id,
        details={"resource": resource, "scopes": wanted},
    )
    return pair


def remove(
    session: Session, *, events: EventRecorder, client_id: str, resource: str, actor: str
) -> None:
    """Withdraw a pair (tokens already exchanged live until they expire)."""
    pair = repository.exchange_pair(session, client_id=client_id, resource=resource)
    if pair is None:
        raise ExchangePairError(f"{client_id} may not exchange tokens for {resource}")
    session.delete(pair)
    events.record(
        session,
        type="token_exchange.withdrawn",
        actor=actor,
        subject=client_id,
        details={"resource": resource},
    )
