"""``tongxing admin``: the role-free operations of the server operator on the three
administrator roles — the first appointment, break-glass — and a look at who holds them."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from admin import appointments
from admin.errors import AdminError
from tongxing.cli.runtime import AsOption, acting_as, admin_domain, administration, refused

app = typer.Typer(help="Administrator roles (三权分立).", no_args_is_help=True)
RoleOption = Annotated[
    str, typer.Option("--role", help="system-admin, security-admin or audit-admin.")
]


@app.command("bootstrap")
def bootstrap(
    system: Annotated[str, typer.Option("--system", help="Login of the system administrator.")],
    security: Annotated[
        str, typer.Option("--security", help="Login of the security administrator.")
    ],
    audit: Annotated[str, typer.Option("--audit", help="Login of the audit administrator.")],
) -> None:
    """Appoint the first holder of each role (three different people; only once)."""
    with admin_domain() as domain:
        try:
            appointments.bootstrap(
                administration(domain), system=system, security=security, audit=audit
            )
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(
        f"appointed {system} (system-admin), {security} (security-admin), {audit} (audit-admin)"
    )


@app.command("break-glass")
def break_glass(
    role: RoleOption,
    person: Annotated[str, typer.Option("--person", help="Login of the new holder.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (goes into the audit log).")],
) -> None:
    """Restore a role nobody active holds (every holder locked out). Loud and audited."""
    with admin_domain() as domain:
        try:
            appointments.break_glass(administration(domain), role=role, login=person, reason=reason)
        except AdminError as exc:
            raise refused(exc) from None
    typer.echo(
        f"BREAK-GLASS: {person} now holds {role}; this is in the audit log "
        "(admin.role.break_glass) for the other administrators to see",
        err=True,
    )


@app.command("roles")
def roles(
    acting: AsOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Who holds the three administrator roles."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role="audit-admin")
        try:
            views = appointments.holders(administration(domain), actor)
        except AdminError as exc:
            raise refused(exc) from None
    if as_json:
        typer.echo(json.dumps(views, ensure_ascii=False))
        return
    for v in views:
        state = " (disabled)" if v["disabled"] else ""
        typer.echo(f"{v['role']:<15} {v['person']}{state}  since {v['since'][:10]}")
