"""The app factory: ``create_app(settings)`` wires services, middleware and every router."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from core.api import health, ops
from core.body_limit import BodyLimitMiddleware
from core.cluster import HEARTBEAT_SECONDS, Membership
from core.database import Database
from core.errors import install_problem_handlers
from core.events import SqlEventRecorder
from core.http_security import SecurityHeadersMiddleware
from core.metrics import HttpMetrics, MetricsMiddleware, new_registry
from core.request_context import RequestContextMiddleware
from core.services import Services
from core.settings import Mode, Settings
from core.store import create_store
from keys.api import jwks, pki
from keys.runtime import KeyServices, build_key_services
from tongxing import pages, preflight

log = logging.getLogger("tongxing")

TEMPLATES = Path(__file__).parent / "templates"


def build_services(settings: Settings) -> Services:
    """Construct (without connecting) the process's database, store and metrics."""
    from tongxing import __version__

    database = Database(settings.resolved_database_url)
    store = create_store(redis_url=settings.redis_url, prefix=settings.store_prefix)
    return Services(
        settings=settings,
        database=database,
        store=store,
        metrics_registry=new_registry(),
        membership=Membership(database=database, store=store, version=__version__),
        events=SqlEventRecorder(),
    )


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings``; start-up checks run in its lifespan."""
    settings = preflight.prepare_settings(settings)
    services = build_services(settings)
    key_services = build_key_services(
        settings=settings, database=services.database, events=services.events
    )
    services.readiness["keys"] = key_services.custody.probe
    services.closers.append(key_services.custody.close)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_start, services, key_services)
        heartbeat = asyncio.create_task(_heartbeat(services.membership))
        try:
            yield
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            await run_in_threadpool(_stop, services)

    from tongxing import __version__

    app = FastAPI(
        title="Tongxing 通行",
        version=__version__,
        summary="Identity provider and electronic-seal service",
        lifespan=lifespan,
        docs_url=None,  # the stock docs page loads scripts from a CDN; we load nothing remote
        redoc_url=None,
    )
    app.state.services = services
    app.state.keys = key_services
    install_problem_handlers(app)
    app.include_router(health.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.include_router(pki.router)
    app.include_router(jwks.router)

    # Outermost last: request id and logging see everything, including 413s.
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(services.metrics_registry))
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_request_bytes)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.issuer.startswith("https:"))
    app.add_middleware(RequestContextMiddleware)
    return app


def _start(services: Services, key_services: KeyServices) -> None:
    settings = services.settings
    demo = settings.mode is Mode.DEMO
    preflight.check_database(settings, services.database, migrate_schema=demo)
    preflight.check_store(services.store)
    preflight.check_keys(key_services, initialise=demo)
    services.membership.join()
    log.info(
        "started",
        extra={"mode": settings.mode.value, "instance": services.membership.instance_id},
    )


def _stop(services: Services) -> None:
    try:
        services.membership.leave()
    except Exception:  # shutting down anyway; the heartbeat expiry marks us dead
        log.warning("could not deregister this instance", exc_info=True)
    services.close()


async def _heartbeat(membership: Membership) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await run_in_threadpool(membership.heartbeat)
        except Exception:
            log.warning("heartbeat failed", exc_info=True)
