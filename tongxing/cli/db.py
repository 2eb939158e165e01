"""``tongxing db``: apply and inspect schema migrations."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from core.database import Database, DatabaseUnavailable, describe_url, sqlite_path
from core.settings import load_settings
from tongxing import migrate, preflight

app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@app.command("upgrade")
def upgrade(as_json: JsonOption = False) -> None:
    """Apply every pending migration (safe to run from several hosts at once)."""
    settings = preflight.prepare_settings(load_settings())
    database = Database(settings.resolved_database_url)
    try:
        path = sqlite_path(database.url)
        before = None if path and not path.exists() else _revision(database)
        preflight.check_database(settings, database, migrate_schema=True)
        after = migrate.current_revision(database)
    finally:
        database.dispose()
    url = describe_url(database.url)
    if as_json:
        typer.echo(json.dumps({"database": url, "from": before, "to": after}))
    elif before == after:
        typer.echo(f"{url}: already at revision {after}")
    else:
        typer.echo(f"{url}: upgraded from {before or 'empty'} to {after}")


@app.command("current")
def current(as_json: JsonOption = False) -> None:
    """Show the database's schema revision and the code's; exit 1 when they differ."""
    settings = load_settings()
    database = Database(settings.resolved_database_url)
    try:
        path = sqlite_path(database.url)
        revision = None if path and not path.exists() else _revision(database)
        head = migrate.head_revision(database)
    finally:
        database.dispose()
    if as_json:
        typer.echo(json.dumps({"current": revision, "head": head, "up_to_date": revision == head}))
    else:
        typer.echo(f"current {revision or 'none'}, head {head}")
    if revision != head:
        raise typer.Exit(1)


def _revision(database: Database) -> str | None:
    try:
        database.ping()
    except DatabaseUnavailable as exc:
        raise preflight.StartupError(
            f"cannot use the database at {describe_url(database.url)}: {exc}"
        ) from None
    return migrate.current_revision(database)
