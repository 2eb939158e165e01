"""Checks run before the service starts: data dir, key-encryption key, database, schema, store.

Each failure is a :class:`StartupError` whose one-line message names the setting to fix.
The checks create nothing in production mode; in demo mode they create the data dir, a
demo key-encryption key, and the schema, which is what demo mode promises.
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import socket
from pathlib import Path

from core.database import Database, DatabaseUnavailable, describe_url, sqlite_path
from core.settings import Mode, Settings, SettingsError, env_name
from core.store import Store, StoreUnavailable
from keys.custody import CustodyError
from keys.runtime import KeyServices
from tongxing import migrate

DEMO_KEK_FILE = "demo-key-encryption-key"


class StartupError(RuntimeError):
    """The service cannot start; the message is one line and says what to fix."""


def prepare_settings(settings: Settings) -> Settings:
    """Settings ready to run with: in demo mode, the data dir and a demo KEK file exist."""
    if settings.mode is Mode.DEMO:
        try:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StartupError(
                f"{env_name('data_dir')}: cannot create {settings.data_dir} ({exc.strerror})"
            ) from None
        if settings.key_encryption_key is None and settings.key_encryption_key_file is None:
            kek_file = _demo_kek(settings.data_dir)
            settings = settings.model_copy(update={"key_encryption_key_file": kek_file})
    elif not settings.data_dir.is_dir():
        raise StartupError(
            f"{env_name('data_dir')}: directory {settings.data_dir} does not exist "
            "(create it, or point the setting at the service's data directory)"
        )
    try:
        settings.key_encryption_key_bytes()
    except SettingsError as exc:
        raise StartupError(str(exc)) from None
    return settings


def _demo_kek(data_dir: Path) -> Path:
    path = (data_dir / DEMO_KEK_FILE).resolve()
    if not path.exists():
        # Written to a temporary file of this process's own, then linked into place only if
        # no key is there: a crash never leaves half a key, and of two processes starting
        # together the first key wins and both use it.
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(32)).decode() + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            temporary.unlink()
    return path


def check_database(settings: Settings, database: Database, *, migrate_schema: bool) -> None:
    """The database answers and its schema is at the code's head revision.

    With ``migrate_schema`` pending migrations are applied; otherwise they are an error.
    """
    url_setting = env_name("database_url") if settings.database_url else env_name("data_dir")
    path = sqlite_path(database.url)
    if path is not None:
        if not path.parent.is_dir():
            raise StartupError(f"{url_setting}: directory {path.parent} does not exist")
        if not path.exists() and not migrate_schema:
            raise StartupError(
                f"{url_setting}: database file {path} does not exist; "
                "create it with `tongxing db upgrade`"
            )
    try:
        database.ping()
    except DatabaseUnavailable as exc:
        raise StartupError(
            f"{url_setting}: cannot use the database at {describe_url(database.url)}: {exc}"
        ) from None
    head = migrate.head_revision(database)
    current = migrate.current_revision(database)
    if current == head:
        return
    if not migrate_schema:
        raise StartupError(
            f"{url_setting}: database schema is at revision {current or 'none'}, the code "
            f"needs {head}; run `tongxing db upgrade`"
        )
    migrate.upgrade(database)


def check_port(host: str, port: int) -> None:
    """Nothing listens on ``host:port`` yet (checked before anything starts, so a second
    demo on a busy port says so in one line and leaves no trace, e.g. no instance record).

    The port is bound and released at once with ``SO_REUSEADDR``, as uvicorn binds it, so a
    connection in TIME_WAIT does not count as busy. Another process may still take the port
    in the moment between this check and uvicorn's bind; uvicorn then fails as before.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as exc:
        raise StartupError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} "
            "(is another server running there? choose another with --port)"
        ) from None


def check_store(store: Store) -> None:
    """The store answers."""
    try:
        store.ping()
    except StoreUnavailable as exc:
        raise StartupError(f"{env_name('redis_url')}: {exc}") from None


def check_keys(keys: KeyServices, *, initialise: bool) -> None:
    """Key custody opens with this KEK (and the PKCS#11 token, when configured); in demo mode
    the hierarchy is created on the first run."""
    try:
        keys.start(initialise=initialise)
    except CustodyError as exc:
        raise StartupError(str(exc)) from None


def check_seal_font(settings: Settings) -> None:
    """A CJK font for drawing seals is there (configured, or found by fontconfig)."""
    from seal.fonts import FontError, find_cjk_font

    try:
        find_cjk_font(settings.seal_font or None)
    except FontError as exc:
        where = f"{env_name('seal_font')}: " if settings.seal_font else ""
        raise StartupError(f"{where}{exc}") from None
