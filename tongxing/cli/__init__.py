"""The ``tongxing`` command line: one Typer app, a command group per concern.

Conventions for every command: settings come from the same ``TONGXING_*`` environment as
the server; ``create`` commands print the new id alone on the last line of stdout; ``--json``
gives machine-readable output; errors go to stderr as one line with a non-zero exit; secrets
are read from stdin or a file, never from arguments.
"""

from __future__ import annotations

import sys

import typer

from core.settings import SettingsError
from tongxing.cli import (
    admin,
    agents,
    audit,
    cas_services,
    clients,
    db,
    demo,
    grants,
    keys,
    maintenance,
    seals,
    server,
    token_exchange,
    upstreams,
    users,
)
from tongxing.cli.runtime import AdminCommandError
from tongxing.preflight import StartupError

app = typer.Typer(
    name="tongxing",
    help="Tongxing 通行: identity provider and electronic-seal service.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("serve")(server.serve)
app.add_typer(demo.app, name="demo")
app.add_typer(db.app, name="db")
app.add_typer(admin.app, name="admin")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(users.users, name="users")
agents.register(users.orgs)
app.add_typer(users.orgs, name="orgs")
token_exchange.register(clients.app)
app.add_typer(clients.app, name="clients")
app.add_typer(cas_services.app, name="cas-services")
app.add_typer(upstreams.app, name="upstreams")
app.add_typer(seals.seals, name="seals")
app.add_typer(grants.grants, name="grants")
app.add_typer(maintenance.app, name="maintenance")
app.command("verify")(seals.verify)

EXIT_CONFIG = 2


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; configuration and start-up problems become one line on stderr."""
    try:
        app(args=argv, standalone_mode=True)
    except (
        SettingsError,
        StartupError,
        keys.CommandError,
        audit.AuditCommandError,
        AdminCommandError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
