"""``tongxing clients``: register and manage relying parties and machine clients."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from admin import clients
from admin.actors import SYSTEM
from admin.errors import AdminError
from tongxing.cli.runtime import (
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
    listed,
    read_secret,
    refused,
)

app = typer.Typer(help="Relying parties and machine clients.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("create")
def create(
    client_id: Annotated[str, typer.Option("--client-id")],
    grant_type: Annotated[list[str], typer.Option("--grant-type", help="Repeatable.")],
    scope: Annotated[str, typer.Option("--scope", help='Space-separated, e.g. "openid profile".')],
    name: Annotated[str, typer.Option("--name")] = "",
    client_secret_stdin: Annotated[
        bool, typer.Option("--client-secret-stdin", help="Read a chosen secret from stdin.")
    ] = False,
    public: Annotated[bool, typer.Option("--public", help="No secret (PKCE).")] = False,
    jwks_uri: Annotated[str | None, typer.Option("--jwks-uri", help="private_key_jwt.")] = None,
    auth_method: Annotated[
        str | None,
        typer.Option(
            "--auth-method",
            help="client_secret_basic (default) | client_secret_post | private_key_jwt | none",
        ),
    ] = None,
    redirect_uri: Annotated[list[str] | None, typer.Option("--redirect-uri")] = None,
    post_logout_redirect_uri: Annotated[
        list[str] | None, typer.Option("--post-logout-redirect-uri")
    ] = None,
    backchannel_logout_uri: Annotated[str | None, typer.Option("--backchannel-logout-uri")] = None,
    pairwise_sector: Annotated[
        str | None, typer.Option("--pairwise-sector", help="Opt in to pairwise subjects.")
    ] = None,
    first_party: Annotated[
        bool, typer.Option("--first-party", help="The city's own app: no consent page.")
    ] = False,
    id_token_alg: Annotated[
        str | None, typer.Option("--id-token-alg", help="ES256 (default) or RS256.")
    ] = None,
    owner: Annotated[
        str | None,
        typer.Option("--owner", help="The owning organisation (id or credit code)."),
    ] = None,
    min_acr: Annotated[
        str | None,
        typer.Option(
            "--min-acr", help="The lowest acr its sign-ins may have, e.g. urn:tongxing:loa:3."
        ),
    ] = None,
    acting: AsOption = None,
) -> None:
    """Register a client. A generated secret is printed once, on stderr; the client id
    alone is the last line of stdout."""
    if public and (client_secret_stdin or jwks_uri):
        raise AdminCommandError("--public clients have neither a secret nor a jwks_uri")
    secret = read_secret(None, what="client secret") if client_secret_stdin else None
    method = "none" if public else auth_method
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            _, generated = clients.create(
                administration(domain),
                actor,
                client_id=client_id,
                name=name,
                grant_types=grant_type,
                scopes=scope.split(),
                owner=owner,
                auth_method=method,
                secret=secret,
                jwks_uri=jwks_uri,
                redirect_uris=redirect_uri or [],
                post_logout_redirect_uris=post_logout_redirect_uri or [],
                backchannel_logout_uri=backchannel_logout_uri,
                pairwise_sector=pairwise_sector,
                first_party=first_party,
                id_token_alg=id_token_alg,
                min_acr=min_acr,
            )
        except AdminError as exc:
            raise refused(exc) from None
    if generated:
        typer.echo(f"client secret (shown once): {generated}", err=True)
    typer.echo(client_id)


@app.command("list")
def list_clients(as_json: JsonOption = False, acting: AsOption = None) -> None:
    """Registered clients (never their secrets)."""
    rows = listed(
        acting,
        role=SYSTEM,
        setup=True,
        page=lambda admin, actor, cursor: clients.list_clients(
            admin, actor, limit=200, cursor=cursor
        ),
    )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['client_id']:<24} {r['auth_method']:<20} {' '.join(r['grant_types'])}"
            f"{'  (disabled)' if r['disabled'] else ''}"
        )


@app.command("disable")
def disable(
    client_id: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    acting: AsOption = None,
) -> None:
    """Disable a client (its tokens stop being issued)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            clients.update(
                administration(domain),
                actor,
                client_id=client_id,
                if_match=None,
                changes={"disabled": not enable},
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo("enabled" if enable else "disabled")


@app.command("set-min-acr")
def set_min_acr(
    client_id: Annotated[str, typer.Argument()],
    min_acr: Annotated[
        str, typer.Argument(help="urn:tongxing:loa:1-4, or none to remove the minimum.")
    ],
    acting: AsOption = None,
) -> None:
    """Set (or remove) the lowest acr a client's sign-ins may have."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            view = clients.update(
                administration(domain),
                actor,
                client_id=client_id,
                if_match=None,
                changes={"min_acr": None if min_acr.lower() == "none" else min_acr},
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(view["min_acr"] or "none")


@app.command("rotate-secret")
def rotate_secret(
    client_id: Annotated[str, typer.Argument()],
    client_secret_stdin: Annotated[
        bool, typer.Option("--client-secret-stdin", help="Read the new secret from stdin.")
    ] = False,
    secret_file: Annotated[Path | None, typer.Option("--client-secret-file")] = None,
    acting: AsOption = None,
) -> None:
    """Replace a client's secret; a generated one is printed once, on stderr."""
    secret = None
    if client_secret_stdin or secret_file:
        secret = read_secret(secret_file, what="client secret")
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            _, generated = clients.new_secret(
                administration(domain), actor, client_id=client_id, secret=secret
            )
        except AdminError as exc:
            raise refused(exc) from None
    if generated:
        typer.echo(f"client secret (shown once): {generated}", err=True)
    typer.echo(client_id)
