"""Shared fixtures: both databases (SQLite, PostgreSQL), both stores (memory, Redis), and apps.

A backend that does not answer fails the run in CI (``CI=true``); elsewhere its tests are
skipped and the run ends with a loud notice saying which backend was missing and why.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from core.database import Base, Database
from core.settings import Settings, load_settings
from core.store import Store, create_store
from tests import backends, remembered_hashes, warm_keys
from tongxing import create_app, migrate
from tongxing.composition import build_domain

_unavailable: dict[str, str] = {}
remembered_hashes.install()


def pytest_sessionstart(session: pytest.Session) -> None:
    for name, probe in (
        ("postgresql", backends.postgres_problem),
        ("redis", backends.redis_problem),
    ):
        problem = probe()
        if problem:
            _unavailable[name] = problem
    if _unavailable and backends.IN_CI:
        raise pytest.UsageError(
            "CI=true and a test backend is unavailable: " + "; ".join(_unavailable.values())
        )


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (pyproject's addopts) runs a few named tests without workers: starting
    them and a database each would cost more than it saves."""
    if config.args and all("::" in arg for arg in config.args):
        return 0
    return None  # xdist's own count


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files holding slow tests run first: xdist hands each file (``--dist loadfile``) to one
    worker, and a long file handed out last would keep the run going on one core."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: file order kept


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: tell the controller what was missing
        workeroutput["tongxing_unavailable"] = dict(_unavailable)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """On the xdist controller: collect what a worker found missing (e.g. SoftHSM2, probed
    only by the worker that needed it) for the summary below."""
    _unavailable.update(getattr(node, "workeroutput", {}).get("tongxing_unavailable", {}))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, problem in _unavailable.items():
        terminalreporter.write_sep(
            "!", f"{name.upper()} UNAVAILABLE — its tests were SKIPPED: {problem}", red=True
        )


def require_backend(name: str) -> None:
    """Skip (loudly, see the summary) when ``name`` is unavailable outside CI."""
    if name in _unavailable:
        pytest.skip(f"{name} unavailable: {_unavailable[name]}")


# --- databases ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _migrated_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One migrated database per engine for the whole session (rows are cleared per test)."""
    urls: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("sqlite") / "tongxing.db"
    urls["sqlite"] = f"sqlite:///{sqlite_file}"
    with _maybe_postgres() as postgres_url:
        if postgres_url:
            urls["postgresql"] = postgres_url
        for url in urls.values():
            database = Database(url)
            migrate.upgrade(database)
            database.dispose()
        yield urls


def _maybe_postgres() -> Any:
    if "postgresql" in _unavailable:
        from contextlib import nullcontext

        return nullcontext(None)
    return backends.scratch_postgres_database()


def _clear(database: Database) -> None:
    with database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(text(f'DELETE FROM "{table.name}"'))
        connection.execute(text("INSERT INTO audit_head (id, tree_size) VALUES (1, 0)"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, _migrated_urls: dict[str, str]) -> Iterator[str]:
    """A migrated database URL on each engine; emptied after the test."""
    require_backend(request.param)
    url = _migrated_urls[request.param]
    yield url
    database = Database(url)
    _clear(database)
    database.dispose()


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A ``Database`` on each engine."""
    db = Database(database_url)
    yield db
    db.dispose()


# --- stores --------------------------------------------------------------------------------


@pytest.fixture
def store_prefix() -> Iterator[str]:
    """A key prefix no other test uses; its Redis keys are deleted afterwards."""
    prefix = f"txt{uuid.uuid4().hex[:10]}"
    yield prefix
    if "redis" not in _unavailable:
        backends.delete_keys(prefix)


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest, store_prefix: str) -> Iterator[Store]:
    """The store on each implementation."""
    if request.param == "redis":
        require_backend("redis")
    instance = create_store(
        redis_url=backends.REDIS_URL if request.param == "redis" else "", prefix=store_prefix
    )
    yield instance
    instance.close()


# --- the app in each storage configuration ------------------------------------------------

STORAGE = {"embedded": ("sqlite", "memory"), "shared": ("postgresql", "redis")}


def strong_secret() -> str:
    """A key-encryption key or token that passes the production checks."""
    return secrets.token_urlsafe(32)


@pytest.fixture(params=list(STORAGE))
def storage(
    request: pytest.FixtureRequest, _migrated_urls: dict[str, str], store_prefix: str
) -> Iterator[dict[str, str]]:
    """Settings values for the embedded (SQLite + memory) and shared (PostgreSQL + Redis)
    configurations, on migrated, emptied databases."""
    engine, store_kind = STORAGE[request.param]
    for backend in (engine, store_kind):
        if backend in ("postgresql", "redis"):
            require_backend(backend)
    url = _migrated_urls[engine]
    yield {
        "database_url": url,
        "redis_url": backends.REDIS_URL if store_kind == "redis" else "",
        "store_prefix": store_prefix,
    }
    database = Database(url)
    _clear(database)
    database.dispose()


def init_keys(settings: Settings) -> None:
    """Run what `tongxing keys init` runs, for ``settings``."""
    database = Database(settings.resolved_database_url)
    services = build_domain(settings=settings, database=database).keys
    try:
        warm_keys.initialise(services, actor="test")
    finally:
        services.custody.close()
        database.dispose()


@pytest.fixture
def make_settings(storage: dict[str, str], tmp_path: Path) -> Callable[..., Settings]:
    """Production-mode settings on the current storage configuration, with overrides; the
    key hierarchy is initialised (as `tongxing keys init` would) unless ``init_keys=False``."""
    kek = warm_keys.KEY_ENCRYPTION_KEY
    initialised = False

    def build(*, init_keys_now: bool = True, **overrides: Any) -> Settings:
        nonlocal initialised
        values: dict[str, Any] = {
            "mode": "production",
            "data_dir": str(tmp_path),
            "issuer": "http://127.0.0.1:8000",
            "key_encryption_key": kek,
            "log_format": "text",
            **storage,
        }
        values.update(overrides)
        settings = load_settings({}, **values)
        if init_keys_now and not initialised:
            init_keys(settings)
            initialised = True
        return settings

    return build


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """An HTTP client to the app (lifespan run) in each storage configuration."""
    with TestClient(create_app(make_settings()), raise_server_exceptions=False) as test_client:
        yield test_client


# --- keys ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A SoftHSM2 token for the session (skipped loudly outside CI if SoftHSM2 is missing)."""
    from tests.pki import init_softhsm

    try:
        return init_softhsm(tmp_path_factory.mktemp("softhsm"))
    except RuntimeError as exc:
        if backends.IN_CI:
            raise
        _unavailable["softhsm2"] = str(exc)
        pytest.skip(str(exc))


@pytest.fixture
def key_services(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Initialised key services (software keys) on each database engine."""
    from tests.pki import key_settings, opened_key_services

    with opened_key_services(
        key_settings(
            database_url=database_url,
            data_dir=tmp_path,
            key_encryption_key=warm_keys.KEY_ENCRYPTION_KEY,
        )
    ) as ks:
        yield ks


@pytest.fixture
def domain(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """Initialised domain services (keys + audit log) on each database engine."""
    from tests.pki import key_settings, opened_domain

    with opened_domain(
        key_settings(
            database_url=database_url,
            data_dir=tmp_path,
            key_encryption_key=warm_keys.KEY_ENCRYPTION_KEY,
        )
    ) as opened:
        yield opened
