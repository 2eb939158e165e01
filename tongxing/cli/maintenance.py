"""``tongxing maintenance``: the operator's housekeeping — the purge of personal data past its
retention (the app processes also run it periodically; running both at once is safe)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from core.settings import load_settings
from idp import retention
from tongxing.cli.runtime import SERVER_ACTOR, admin_domain

app = typer.Typer(help="Housekeeping of stored data.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("purge")
def purge(as_json: JsonOption = False) -> None:
    """Delete sign-in history older than TONGXING_SIGN_IN_RETENTION_DAYS and anonymise
    accounts whose deletion was asked more than TONGXING_ACCOUNT_DELETION_GRACE_DAYS ago.
    The audit log is never purged (it is the legal record)."""
    settings = load_settings()
    with admin_domain() as domain:
        purged = retention.purge(
            database=domain.keys.database,
            events=domain.audit,
            settings=settings,
            actor=SERVER_ACTOR,
        )
    if as_json:
        typer.echo(json.dumps({"sign_ins": purged.sign_ins, "accounts": purged.accounts}))
        return
    typer.echo(f"sign-in records deleted: {purged.sign_ins}")
    typer.echo(f"accounts anonymised: {purged.accounts}")
