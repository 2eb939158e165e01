"""The app factory: ``create_app(settings)`` wires services, middleware and every router."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.formparsers import MultiPartParser
from starlette.types import ASGIApp, Receive, Scope, Send

import admin as admin_package
import idp as idp_package
import seal as seal_package
from admin.api import agents as admin_agents
from admin.api import audit as admin_audit
from admin.api import cas_services as admin_cas_services
from admin.api import clients as admin_clients
from admin.api import dashboard as admin_dashboard
from admin.api import factors as admin_factors
from admin.api import grants as admin_grants
from admin.api import keys as admin_keys
from admin.api import organisations as admin_organisations
from admin.api import people as admin_people
from admin.api import roles as admin_roles
from admin.api import seal_applications as admin_seal_applications
from admin.api import seals as admin_seals
from admin.api import token_exchange as admin_token_exchange
from admin.api import upstreams as admin_upstreams
from admin.console import registration as console_registration
from admin.console import routes as console_routes
from admin.service import Administration
from audit.api import routes as audit_routes
from core.api import health, ops
from core.cluster import HEARTBEAT_SECONDS, Membership
from core.database import Database
from core.edge import EdgeMiddleware
from core.errors import install_problem_handlers
from core.fast_lane import FastLane
from core.metrics import HttpMetrics, new_registry
from core.readiness import NotReady
from core.runtime import Runtime
from core.services import Services
from core.settings import Mode, Settings
from core.store import create_store
from idp import agents, backchannel, retention
from idp.api import account as account_routes
from idp.api import agents as agent_routes
from idp.api import authorize as authorize_routes
from idp.api import cas as cas_routes
from idp.api import discovery as discovery_routes
from idp.api import factors_page as factors_page_routes
from idp.api import logout as logout_routes
from idp.api import passkeys as passkey_routes
from idp.api import password as password_routes
from idp.api import privacy as privacy_routes
from idp.api import proofing as proofing_routes
from idp.api import qr_login as qr_login_routes
from idp.api import recovery as recovery_routes
from idp.api import register as register_routes
from idp.api import sms as sms_routes
from idp.api import step_up as step_up_routes
from idp.api import token as token_routes
from idp.api import totp as totp_routes
from idp.api import upstream as upstream_routes
from idp.api import userinfo as userinfo_routes
from idp.runtime import IdentityProvider
from keys.api import jwks, pki
from seal.api import short_link as short_link_routes
from seal.api import sign as seal_routes
from seal.api import verify as verify_routes
from tongxing import (
    demo_apps,
    demo_cas_app,
    demo_data,
    demo_province,
    demo_sealing,
    pages,
    preflight,
)
from tongxing.composition import (
    Domain,
    build_administration,
    build_domain,
    build_identity_provider,
    build_sealing_service,
)

log = logging.getLogger("tongxing")


class TongxingApp(FastAPI):
    """The FastAPI app, with its hot endpoints answered through the fast lane
    (``core/fast_lane.py``): same endpoint functions, same edge, no framework layers."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.lane = FastLane()  # filled by create_app
        self.lane_edge: ASGIApp | None = None  # the edge around the lane (None: no short-cuts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.lane_edge is not None:
            route = self.lane.match(scope)
            if route is not None:
                scope["app"] = self
                scope["route"] = route
                await self.lane_edge(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def build_services(settings: Settings) -> tuple[Services, Domain]:
    """Construct (without connecting) the process's database, store, metrics and domain."""
    from tongxing import __version__

    database = Database(settings.resolved_database_url)
    store = create_store(redis_url=settings.redis_url, prefix=settings.store_prefix)
    domain = build_domain(settings=settings, database=database)
    services = Services(
        settings=settings,
        database=database,
        store=store,
        metrics_registry=new_registry(),
        membership=Membership(database=database, store=store, version=__version__),
        events=domain.audit,
    )
    services.readiness["keys"] = domain.keys.custody.probe
    services.closers.append(domain.close)
    return services, domain


def create_app(settings: Settings) -> FastAPI:
    """The ASGI app for ``settings``; start-up checks run in its lifespan."""
    settings = preflight.prepare_settings(settings)
    services, domain = build_services(settings)
    idp = build_identity_provider(domain=domain, store=services.store)
    administration = build_administration(domain=domain, identity=idp)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(_start, services, domain, administration)
        tasks = [
            asyncio.create_task(_heartbeat(services.membership)),
            asyncio.create_task(_checkpoints(domain, settings.audit_checkpoint_seconds)),
            asyncio.create_task(_logout_retries(idp)),
            asyncio.create_task(_agent_expiries(idp)),
            asyncio.create_task(
                retention.run_periodically(
                    database=services.database, events=domain.audit, settings=settings
                )
            ),
        ]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await run_in_threadpool(_stop, services)

    from tongxing import __version__

    app = TongxingApp(
        title="Tongxing 通行",
        version=__version__,
        summary="Identity provider and electronic-seal service",
        lifespan=lifespan,
        docs_url=None,  # the stock docs page loads scripts from a CDN; we load nothing remote
        redoc_url=None,
    )
    # Uploads up to the seal limit stay in memory instead of a temporary file (Starlette
    # spools multipart files over 1 MiB to disk, then we would read them straight back).
    MultiPartParser.spool_max_size = max(
        MultiPartParser.spool_max_size, settings.seal_max_pdf_bytes
    )
    # The one object on app.state: each package's api/deps.py reads its services from it.
    app.state.runtime = Runtime(
        services,
        domain,
        domain.keys,
        domain.audit,
        domain.tokens,
        idp,
        build_sealing_service(domain=domain, store=services.store),
        administration,
        demo_apps.DemoLink(),
    )
    install_problem_handlers(app)
    # Hot machine-to-machine routes first: routes are matched in order.
    app.include_router(health.router)
    app.include_router(token_routes.router)
    app.include_router(userinfo_routes.router)
    app.include_router(jwks.router)
    app.include_router(discovery_routes.router)
    app.include_router(seal_routes.router)
    app.include_router(ops.router)
    app.include_router(pages.router)
    app.include_router(pki.router)
    app.include_router(audit_routes.router)
    app.include_router(authorize_routes.router)
    app.include_router(logout_routes.router)
    app.include_router(cas_routes.router)
    app.include_router(account_routes.router)
    app.include_router(agent_routes.router)
    app.include_router(step_up_routes.router)
    app.include_router(totp_routes.router)
    app.include_router(proofing_routes.router)
    app.include_router(passkey_routes.router)
    app.include_router(sms_routes.router)
    app.include_router(register_routes.router)
    app.include_router(password_routes.router)
    app.include_router(privacy_routes.router)
    app.include_router(qr_login_routes.router)
    app.include_router(upstream_routes.router)
    app.include_router(factors_page_routes.router)
    app.include_router(recovery_routes.router)
    app.include_router(verify_routes.router)
    app.include_router(short_link_routes.router)
    app.include_router(admin_roles.router)
    app.include_router(admin_seal_applications.router)
    app.include_router(admin_seals.router)
    app.include_router(admin_grants.router)
    app.include_router(admin_people.router)
    app.include_router(admin_factors.router)
    app.include_router(admin_organisations.router)
    app.include_router(admin_agents.router)
    app.include_router(admin_clients.router)
    app.include_router(admin_cas_services.router)
    app.include_router(admin_token_exchange.router)
    app.include_router(admin_upstreams.router)
    app.include_router(admin_audit.router)
    app.include_router(admin_keys.router)
    app.include_router(admin_dashboard.router)
    console_routes.install(app)
    if settings.mode is Mode.DEMO:
        app.include_router(demo_apps.router)
        app.include_router(demo_cas_app.router)
        app.include_router(demo_sealing.router)
        app.include_router(demo_province.router)
    app.mount(
        "/static/idp",
        StaticFiles(directory=Path(idp_package.__file__).parent / "static"),
        name="idp-static",
    )
    app.mount(
        "/static/admin",
        StaticFiles(directory=Path(admin_package.__file__).parent / "static"),
        name="admin-static",
    )
    app.mount(
        "/static/seal",
        StaticFiles(directory=Path(seal_package.__file__).parent / "static"),
        name="seal-static",
    )

    # One pass for request id, security headers, body limit, metrics and the access log
    # (core/edge.py); it sees everything the routers answer, including 413s. The fast lane
    # has an edge of its own with the same settings and the same metrics.
    https, limit = settings.issuer.startswith("https:"), settings.max_request_bytes
    metrics = HttpMetrics(services.metrics_registry)
    app.add_middleware(EdgeMiddleware, https=https, limit=limit, metrics=metrics)
    app.lane = _fast_lane(app, domain=domain, idp=idp)
    app.lane_edge = EdgeMiddleware(app.lane, https=https, limit=limit, metrics=metrics)
    return app


def _fast_lane(app: FastAPI, *, domain: Domain, idp: IdentityProvider) -> FastLane:
    """The endpoints every relying party calls on every page view, and the health probe:
    each is its route's own function with its service bound here."""
    lane = FastLane()
    lane.add("GET", "/healthz", health.healthz)
    lane.add("GET", "/jwks", functools.partial(jwks.jwks, keys=domain.keys))
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        lane.add("GET", path, functools.partial(discovery_routes.metadata_response, idp=idp))
    lane.add("POST", "/token", functools.partial(token_routes.token, idp=idp))
    userinfo = functools.partial(userinfo_routes.get_userinfo, idp=idp, _declared=None)
    lane.add("GET", "/userinfo", userinfo)
    lane.add("POST", "/userinfo", userinfo)
    lane.use_exception_handlers(app.exception_handlers)
    return lane


def _start(services: Services, domain: Domain, administration: Administration) -> None:
    settings = services.settings
    demo = settings.mode is Mode.DEMO
    preflight.check_store(services.store)
    # Demo processes started together on a fresh database take turns creating the schema,
    # the key hierarchy and the demo data; the later ones find everything there.
    with services.database.exclusive("demo-start") if demo else contextlib.nullcontext():
        preflight.check_database(settings, services.database, migrate_schema=demo)
        domain.audit.fix_origin()  # from now on the log's name never follows the settings
        preflight.check_keys(domain.keys, initialise=demo)
        # The console signs in through our IdP like any app: its registration follows the
        # issuer, in every mode.
        with services.database.transaction() as session:
            console_registration.ensure(
                session, data_keys=domain.data_keys, events=domain.audit, issuer=settings.issuer
            )
        if demo:
            demo_data.seed(domain, issuer=settings.issuer, administration=administration)
            demo_province.seed(domain, issuer=settings.issuer)
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


async def _checkpoints(domain: Domain, interval: int) -> None:
    # Checkpoints follow every append; this keeps their time fresh when nothing happens.
    while True:
        await asyncio.sleep(interval)
        try:
            await run_in_threadpool(
                domain.audit.checkpoint_if_stale, max_age=timedelta(seconds=interval)
            )
        except NotReady as exc:  # an outage: logged where it is detected, once
            log.debug("periodic audit checkpoint failed", extra={"reason": str(exc)})
        except Exception:
            log.warning("periodic audit checkpoint failed", exc_info=True)


async def _heartbeat(membership: Membership) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await run_in_threadpool(membership.heartbeat)
        except NotReady as exc:  # an outage: logged where it is detected, once
            log.debug("heartbeat failed", extra={"reason": str(exc)})
        except Exception:
            log.warning("heartbeat failed", exc_info=True)


async def _logout_retries(idp: IdentityProvider) -> None:
    # Back-channel logout deliveries abandoned by a stopped process get more attempts here.
    while True:
        await asyncio.sleep(backchannel.SWEEP_SECONDS)
        try:
            await backchannel.retry_stale(idp)
        except NotReady as exc:  # an outage: logged where it is detected, once
            log.debug("back-channel logout retry sweep failed", extra={"reason": str(exc)})
        except Exception:
            log.warning("back-channel logout retry sweep failed", exc_info=True)


AGENT_EXPIRY_SECONDS = 60.0


async def _agent_expiries(idp: IdentityProvider) -> None:
    # An agent authorisation whose period ended is no longer offered at once (idp.agents
    # checks the period); this records its end and revokes the grants made under it.
    while True:
        await asyncio.sleep(AGENT_EXPIRY_SECONDS)
        try:
            await run_in_threadpool(agents.notice_expiries, idp)
        except NotReady as exc:  # an outage: logged where it is detected, once
            log.debug("agent expiry sweep failed", extra={"reason": str(exc)})
        except Exception:
            log.warning("agent expiry sweep failed", exc_info=True)
