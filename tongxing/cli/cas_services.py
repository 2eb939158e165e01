"""``tongxing cas-services``: register and manage CAS services (legacy department apps)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from admin import cas_services
from admin.actors import SYSTEM
from admin.errors import AdminError
from tongxing.cli.runtime import (
    AsOption,
    acting_as,
    admin_domain,
    administration,
    listed,
    refused,
)

app = typer.Typer(help="CAS services (legacy apps speaking CAS 3.0).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("create")
def create(
    service: Annotated[str, typer.Option("--service", help="The exact service URL.")],
    name: Annotated[str, typer.Option("--name")] = "",
    min_acr: Annotated[
        str | None,
        typer.Option(
            "--min-acr", help="The lowest acr its sign-ins may have, e.g. urn:tongxing:loa:3."
        ),
    ] = None,
    acting: AsOption = None,
) -> None:
    """Register a CAS service; prints its id (the last line of stdout)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            view = cas_services.create(
                administration(domain), actor, service=service, name=name, min_acr=min_acr
            )
        except AdminError as exc:
            raise refused(exc) from None
    if not view["single_logout"]:
        typer.echo("note: no single logout to a plain-http address outside demo mode", err=True)
    typer.echo(view["id"])


@app.command("list")
def list_services(as_json: JsonOption = False, acting: AsOption = None) -> None:
    """Registered CAS services."""
    rows = listed(
        acting,
        role=SYSTEM,
        setup=True,
        page=lambda admin, actor, cursor: cas_services.list_services(
            admin, actor, limit=200, cursor=cursor
        ),
    )
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['id']:<32} {r['service']}  {r['name']}{'  (disabled)' if r['disabled'] else ''}"
        )


@app.command("disable")
def disable(
    service: Annotated[str, typer.Argument(help="The service's id or exact URL.")],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    acting: AsOption = None,
) -> None:
    """Disable a CAS service (no tickets, no validations, no single logout)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            cas_services.update(
                administration(domain),
                actor,
                ref=service,
                if_match=None,
                changes={"disabled": not enable},
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo("enabled" if enable else "disabled")
