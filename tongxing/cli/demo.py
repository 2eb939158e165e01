"""``tongxing demo``: run the embedded demo; ``tongxing demo totp``: a seeded person's code."""

from __future__ import annotations

import os
import time
from typing import Annotated

import typer

from core.database import Database
from core.settings import Mode, env_name, load_settings
from idp import totp as totp_codes
from tongxing import preflight
from tongxing.cli import server
from tongxing.cli.runtime import AdminCommandError
from tongxing.demo_data import PEOPLE, demo_totp, totp_secret

app = typer.Typer(
    help="Run the embedded demo (SQLite and keys in ./var, demo data), or help with it.",
    invoke_without_command=True,
    no_args_is_help=False,
)


@app.callback()
def demo(
    ctx: typer.Context, host: server.HostOption = "127.0.0.1", port: server.PortOption = 8000
) -> None:
    """Run the embedded demo: SQLite and keys in ./var, in-process store, demo data."""
    if ctx.invoked_subcommand is None:
        server.demo(host=host, port=port)


@app.command("totp")
def totp(
    user: Annotated[str, typer.Option("--user", help="Login of a seeded demo person.")],
) -> None:
    """Print a seeded demo person's current TOTP code (demo mode only)."""
    # Refused before anything else is read: outside demo mode there is nothing to show.
    if os.environ.get(env_name("mode"), "").strip().lower() != Mode.DEMO.value:
        raise AdminCommandError(
            f"`tongxing demo totp` works in demo mode only ({env_name('mode')}=demo)"
        )
    settings = load_settings()
    if not any(p.username == user and p.totp for p in PEOPLE):
        seeded = ", ".join(p.username for p in PEOPLE if p.totp)
        raise AdminCommandError(f"{user!r} has no seeded TOTP authenticator (seeded: {seeded})")
    settings = preflight.prepare_settings(settings)
    database = Database(settings.resolved_database_url)
    try:
        preflight.check_database(settings, database, migrate_schema=False)
        with database.reading() as session:
            found = demo_totp(session, user)
            last = found.last_step if found is not None else None
    finally:
        database.dispose()
    if found is None:
        raise AdminCommandError(f"{user!r} is not seeded yet: start the demo once (`./dev demo`)")
    now = time.time()
    current = totp_codes.step_of(now)
    # A code is accepted once: after a sign-in in this 30-second step, the next step's
    # code (accepted one step early) is the one that works now.
    step = current if last is None or last < current else last + 1
    if step > current + totp_codes.DRIFT_STEPS:
        wait = (current + 1) * totp_codes.STEP_SECONDS - int(now)
        raise AdminCommandError(f"{user}'s codes for now are used; try again in {wait} s")
    # Accepted until the end of the step after its own (one step of clock drift).
    remaining = (step + 1 + totp_codes.DRIFT_STEPS) * totp_codes.STEP_SECONDS - int(now)
    typer.echo(f"{user}: valid for about {remaining} s more", err=True)
    typer.echo(totp_codes.code_at(totp_secret(user), step))
