"""``tongxing upstreams``: upstream OpenID providers (the provincial platform) people may
sign in through."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from admin import upstreams
from admin.actors import SYSTEM
from admin.errors import AdminError
from tongxing.cli.runtime import (
    AdminCommandError,
    AsOption,
    acting_as,
    admin_domain,
    administration,
    read_secret,
    refused,
)

app = typer.Typer(help="Upstream OpenID providers (federation).", no_args_is_help=True)


def _pairs(values: list[str] | None, *, what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        key, sep, mapped = value.partition("=")
        if not sep or not key or not mapped:
            raise AdminCommandError(f"--{what} takes KEY=VALUE, got {value!r}")
        pairs[key] = mapped
    return pairs


@app.command("create")
def create(
    upstream_id: Annotated[str, typer.Option("--id", help="A slug in our URLs, e.g. province.")],
    name_zh: Annotated[str, typer.Option("--name-zh", help="e.g. 省统一身份认证平台")],
    name_en: Annotated[str, typer.Option("--name-en")],
    discovery_url: Annotated[
        str, typer.Option("--discovery-url", help="<issuer>/.well-known/openid-configuration")
    ],
    client_id: Annotated[str, typer.Option("--client-id")],
    scope: Annotated[str, typer.Option("--scope", help="Space-separated.")] = "openid profile",
    claim: Annotated[
        list[str] | None,
        typer.Option("--claim", help="name|national_id|phone=UPSTREAM_CLAIM (repeatable)."),
    ] = None,
    acr: Annotated[
        list[str] | None,
        typer.Option("--acr", help="UPSTREAM_ACR=LEVEL (1-4, repeatable); unmapped: 1."),
    ] = None,
    amr: Annotated[
        list[str] | None,
        typer.Option("--amr", help="UPSTREAM_AMR=RFC8176_VALUE (repeatable)."),
    ] = None,
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            help="oidc, or ticket:json-v1 for a ticket-style platform (then --discovery-url is "
            "its base URL, --client-id and the secret its app id and secret).",
        ),
    ] = "oidc",
    trusted_proofing_level: Annotated[
        int | None,
        typer.Option(
            "--trust-national-id",
            help="Trust its identity-number claim: the proofing level it earns (2-4).",
        ),
    ] = None,
    acting: AsOption = None,
) -> None:
    """Register an upstream; the client secret is read from stdin (its first line). The id
    alone is the last line of stdout."""
    secret = read_secret(None, what="client secret")
    levels: dict[str, int] = {}
    for key, value in _pairs(acr, what="acr").items():
        if not value.isdigit():
            raise AdminCommandError(f"--acr {key}= needs a level 1-4")
        levels[key] = int(value)
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            upstreams.create(
                administration(domain),
                actor,
                upstream_id=upstream_id,
                name_zh=name_zh,
                name_en=name_en,
                discovery_url=discovery_url,
                client_id=client_id,
                client_secret=secret,
                scopes=scope.split(),
                claim_map=_pairs(claim, what="claim") or {"name": "name"},
                acr_map=levels,
                amr_map=_pairs(amr, what="amr"),
                trusted_proofing_level=trusted_proofing_level,
                protocol=protocol,
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(upstream_id)


@app.command("list")
def list_upstreams(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    acting: AsOption = None,
) -> None:
    """Registered upstreams (never their secrets)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            rows = upstreams.list_upstreams(administration(domain), actor)
        except AdminError as exc:
            raise refused(exc) from None
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['id']:<16} {r['issuer']:<40} {r['name_zh']}"
            f"{'  (disabled)' if r['disabled'] else ''}"
        )


@app.command("disable")
def disable(
    upstream_id: Annotated[str, typer.Argument()],
    enable: Annotated[bool, typer.Option("--enable", help="Re-enable instead.")] = False,
    acting: AsOption = None,
) -> None:
    """Disable an upstream (its button disappears, its callbacks are refused)."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=SYSTEM, setup=True)
        try:
            upstreams.set_disabled(
                administration(domain), actor, upstream_id=upstream_id, disabled=not enable
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(f"{upstream_id} {'enabled' if enable else 'disabled'}")
