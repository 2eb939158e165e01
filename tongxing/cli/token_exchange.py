"""``tongxing clients allow-exchange``, ``exchanges`` and ``withdraw-exchange``: which app
may exchange its tokens for which of our resource servers (RFC 8693; rules in
``admin.token_exchange``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from admin import token_exchange
from admin.actors import SYSTEM
from admin.errors import AdminError
from tongxing.cli.runtime import AsOption, acting_as, admin_domain, administration, refused

ClientOption = Annotated[str, typer.Option("--client", help="The app's client id.")]
ResourceOption = Annotated[
    str, typer.Option("--resource", help="Our resource server, as a path: /seal.")
]


def allow_exchange(
    client: ClientOption,
    resource: ResourceOption,
    scope: Annotated[
        list[str] | None, typer.Option("--scope", help="Repeat; default: all of the target's.")
    ] = None,
    acting: AsOption = None,
) -> None:
    """Allow an app to exchange the tokens people's sign-ins gave it for tokens aimed at one
    of our resource servers (system administrator)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            view = token_exchange.allow(
                administration(domain),
                actor,
                client_id=client,
                resource=resource,
                scopes=list(scope or []),
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"{client} may exchange tokens for {resource} ({' '.join(view['scopes'])})")


def list_exchanges(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    acting: AsOption = None,
) -> None:
    """The registered token-exchange pairs."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            rows = token_exchange.list_pairs(administration(domain), actor)["items"]
        except AdminError as exc:
            raise refused(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['client_id']:<24} {r['resource']:<10} {' '.join(r['scopes'])}")


def withdraw_exchange(
    client: ClientOption, resource: ResourceOption, acting: AsOption = None
) -> None:
    """Withdraw a token-exchange pair (system administrator)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            token_exchange.withdraw(
                administration(domain), actor, client_id=client, resource=resource
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"{client} may no longer exchange tokens for {resource}")


def register(clients: typer.Typer) -> None:
    """Add these commands to ``tongxing clients``."""
    clients.command("allow-exchange")(allow_exchange)
    clients.command("exchanges")(list_exchanges)
    clients.command("withdraw-exchange")(withdraw_exchange)
