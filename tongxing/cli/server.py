"""``tongxing serve`` and ``tongxing demo``: check everything, then run uvicorn."""

from __future__ import annotations

import contextlib
import os
from typing import Annotated

import typer
import uvicorn

from core.logs import configure_logging
from core.settings import Mode, Settings, env_name, load_settings
from tongxing import preflight
from tongxing.app import build_services
from tongxing.demo_data import CERTSYS_CLIENT_ID, CERTSYS_SECRET, DEMO_PASSWORD, DEMO_SEAL_ID

HostOption = Annotated[str, typer.Option(help="Address to listen on.")]
PortOption = Annotated[int, typer.Option(min=1, max=65535, help="TCP port to listen on.")]
WorkersOption = Annotated[int, typer.Option(min=1, help="Worker processes (needs Redis if > 1).")]


def check_before_start(settings: Settings, *, workers: int) -> Settings:
    """Every start-up check, in the parent process, so failures are one clear line."""
    if workers > 1 and not settings.redis_url:
        raise preflight.StartupError(
            f"{env_name('redis_url')} is required with more than one worker "
            "(the in-process store is not shared between processes)"
        )
    settings = preflight.prepare_settings(settings)
    services, domain = build_services(settings)
    demo = settings.mode is Mode.DEMO
    try:
        preflight.check_store(services.store)
        # Demo processes started together take turns creating the schema and the keys (the
        # app's start-up does the same for the demo data, see tongxing.app._start).
        with services.database.exclusive("demo-start") if demo else contextlib.nullcontext():
            preflight.check_database(settings, services.database, migrate_schema=demo)
            preflight.check_keys(domain.keys, initialise=demo)
        if demo:
            preflight.check_seal_font(settings)  # the demo draws its seal on first start
    finally:
        services.close()
    return settings


def _run(settings: Settings, *, host: str, port: int, workers: int) -> None:
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    uvicorn.run(
        "tongxing.asgi:create_app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        # Our edge writes the access line (core/edge.py); without this uvicorn would still
        # format its own arguments for every response before its disabled logger drops them.
        access_log=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        server_header=False,
        timeout_graceful_shutdown=20,
    )


def serve(
    host: HostOption = "127.0.0.1", port: PortOption = 8000, workers: WorkersOption = 1
) -> None:
    """Run the service with settings from the TONGXING_* environment."""
    preflight.check_port(host, port)
    settings = check_before_start(load_settings(), workers=workers)
    _run(settings, host=host, port=port, workers=workers)


def demo(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Run the embedded demo: SQLite and keys in ./var, in-process store, demo data."""
    preflight.check_port(host, port)
    os.environ[env_name("mode")] = Mode.DEMO.value
    os.environ.setdefault(env_name("data_dir"), "var")
    os.environ.setdefault(env_name("log_format"), "text")  # a person reads these logs
    # Browsers refuse WebAuthn (passkeys) on an IP-address origin: on this machine the demo
    # is reached by the host name localhost (which resolves to the loopback address).
    loopback = ("127.0.0.1", "::1", "localhost", "0.0.0.0", "::")  # noqa: S104
    public_host = "localhost" if host in loopback else host
    base = f"http://{public_host}:{port}"
    os.environ.setdefault(env_name("issuer"), base)
    settings = check_before_start(load_settings(), workers=1)
    store = "Redis" if settings.redis_url else "in-process store / 进程内存储"
    typer.echo(
        "\n通行 Tongxing demo / 演示模式\n"
        f"  首页 Home:            {settings.issuer}/\n"
        f"  接口 OpenAPI:         {settings.issuer}/openapi.json\n"
        f"  就绪 Readiness:       {settings.issuer}/readyz\n"
        f"  演示应用 Demo apps:   {settings.issuer}/demo/apps/permits/  and  "
        f"{settings.issuer}/demo/apps/housing/\n"
        f"  演示账号 Demo logins: citizen / {DEMO_PASSWORD}  (市民 citizen),  "
        f"staff / {DEMO_PASSWORD}  (企业员工 enterprise staff)\n"
        f"  管理员 Administrators: sysadmin (系统 system), secadmin (安全 security), "
        f"auditor (审计 audit), officer (住建局单位管理员 bureau admin); same password\n"
        "  动态口令 TOTP codes:   TONGXING_MODE=demo .venv/bin/tongxing demo totp --user LOGIN"
        "  (second factor; the housing app and the console ask for it)\n"
        f"  我的账户 Account:     {settings.issuer}/account\n"
        f"  印章验证 Verify seals: {settings.issuer}/verify\n"
        f"  示例证书 Sample PDF:   {settings.issuer}/demo/certificate.pdf  (seal {DEMO_SEAL_ID}, "
        f"client {CERTSYS_CLIENT_ID} / {CERTSYS_SECRET}; see README 'Seal a certificate')\n"
        f"  数据 Data:            {settings.data_dir.resolve()} "
        f"(database {'SQLite' if not settings.database_url else 'external'}, {store})\n"
        "  停止 Stop:            Ctrl+C\n"
    )
    _run(settings, host=host, port=port, workers=1)
