"""What every administrative command needs: settings, a checked database, opened custody."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from admin import actors
from admin.actors import Actor
from admin.errors import AdminError
from admin.service import Administration
from core.database import Database
from core.settings import Mode, load_settings
from core.store import create_store
from idp import repository as idp_repository
from keys.custody import CustodyError
from tongxing import preflight
from tongxing.composition import (
    Domain,
    build_administration,
    build_domain,
    build_identity_provider,
)

# The actor of the role-free server operations (key ceremonies): the operator at the shell.
SERVER_ACTOR = "server:operator"


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


AsOption = Annotated[
    str | None,
    typer.Option(
        "--as",
        help="Login of the person acting (required outside demo mode; in demo mode the "
        "seeded holder of the needed role acts when left out).",
    ),
]


def administration(domain: Domain) -> Administration:
    """The rule book on the command's domain services and the configured shared store (where
    the servers keep SSO sessions and announce revoked grants; it connects only when an act
    uses it). Without ``TONGXING_REDIS_URL`` the store is this command's own memory: the
    servers' sessions are out of its reach (:func:`shares_sessions`)."""
    settings = domain.keys.custody.settings
    store = create_store(redis_url=settings.redis_url, prefix=settings.store_prefix)
    return build_administration(
        domain=domain, identity=build_identity_provider(domain=domain, store=store)
    )


def shares_sessions(admin: Administration) -> bool:
    """Whether this command reaches the servers' SSO sessions (a shared Redis store)."""
    return bool(admin.settings.redis_url)


def acting_as(
    domain: Domain,
    login: str | None,
    *,
    role: str | None = None,
    organisation: str | None = None,
    setup: bool = False,
) -> Actor:
    """Who an administrative command acts as: the person named by ``--as``; in demo mode
    without it, the seeded holder of ``role`` or an administrator of ``organisation``. With
    ``setup`` (commands a new installation needs before ``admin bootstrap``: people,
    organisations, clients), and while nobody holds an administrator role, the server
    operator acts without ``--as`` (the rule book checks it again: ``policy``)."""
    demo = domain.keys.custody.settings.mode is Mode.DEMO
    with domain.keys.database.reading() as session:
        if login is None:
            if setup and not idp_repository.platform_role_holders(session):
                return actors.server(actors.SETUP)
            if not demo:
                raise AdminCommandError("say who acts: --as LOGIN (required outside demo mode)")
            login = _demo_default(session, role=role, organisation=organisation)
        user = idp_repository.user_by_login(session, login)
        if user is None:
            raise AdminCommandError(f"there is no person {login!r} (--as)")
        if user.disabled:
            raise AdminCommandError(f"{login!r} is disabled (--as)")
        return actors.person(session, user)


def _demo_default(session: Session, *, role: str | None, organisation: str | None) -> str:
    if role is not None:
        for _, user in idp_repository.platform_role_holders(session, role):
            if not user.disabled:
                return user.username
    if organisation is not None:
        found = idp_repository.organisation(session, organisation)
        for user in idp_repository.organisation_admins(session, found.id) if found else []:
            if not user.disabled:
                return user.username
    raise AdminCommandError("nobody holds the role this command needs: name who acts with --as")


def refused(exc: AdminError) -> AdminCommandError:
    """The one-line CLI error for a refusal of the rule book."""
    return AdminCommandError(exc.detail)


def listed(
    acting: str | None,
    *,
    role: str,
    page: Callable[[Administration, Actor, str | None], dict[str, Any]],
    organisation: str | None = None,
    setup: bool = False,
) -> list[dict[str, Any]]:
    """Every item of a paged admin list, read as ``--as`` (or as :func:`acting_as` picks
    with ``role``, ``organisation`` and ``setup``); a refusal becomes the command's
    one-line error."""
    with admin_domain() as domain:
        actor = acting_as(domain, acting, role=role, organisation=organisation, setup=setup)
        admin = administration(domain)
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        try:
            while True:
                found = page(admin, actor, cursor)
                items.extend(found["items"])
                cursor = found["next_cursor"]
                if cursor is None:
                    return items
        except AdminError as exc:
            raise refused(exc) from None
