"""What every administrative command needs: settings, a checked database, opened custody."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.database import Database
from core.settings import load_settings
from keys.custody import CustodyError
from tongxing import preflight
from tongxing.composition import Domain, build_domain

ADMIN_ACTOR = "admin:cli"


class AdminCommandError(RuntimeError):
    """An administrative command was refused; printed as one line on stderr."""


@contextmanager
def admin_domain(*, create_keys: bool = False) -> Iterator[Domain]:
    """The domain services on the configured database, key custody opened (with
    ``create_keys``, a new installation's KEK parameters are set up)."""
    settings = preflight.prepare_settings(load_settings())
    database = Database(settings.resolved_database_url)
    preflight.check_database(settings, database, migrate_schema=False)
    domain = build_domain(settings=settings, database=database)
    try:
        try:
            opened = domain.keys.custody.open(create=create_keys)
        except CustodyError as exc:
            raise AdminCommandError(str(exc)) from None
        if not opened:
            raise AdminCommandError("keys are not initialised: run `tongxing keys init`")
        yield domain
    finally:
        domain.close()
        database.dispose()


def read_secret(source: Path | None, *, what: str) -> str:
    """A secret from a file or stdin (its first line, exactly), never from an argument."""
    data = source.read_text() if source else sys.stdin.read()
    line = data.splitlines()[0] if data else ""
    if not line.strip():
        raise AdminCommandError(f"no {what} given on stdin")
    return line
