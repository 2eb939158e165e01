"""``Annotated`` dependency aliases that hand request handlers the process's services.

This is the one module that reads ``app.state``: the composition root puts a single
:class:`core.runtime.Runtime` there, and every package's ``api/deps.py`` reaches its own
services through :func:`runtime_of`. The accessors are ``async`` so FastAPI calls them on
the event loop (a plain ``def`` dependency costs a thread-pool hop per request).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.applications import Starlette

from core.database import Database
from core.runtime import Runtime
from core.services import Services
from core.settings import Settings
from core.store import Store


def runtime_of(app: Starlette) -> Runtime:
    """The services the composition root registered for ``app``."""
    runtime: Runtime = app.state.runtime
    return runtime


def services_of(request: Request) -> Services:
    """The core services of the app serving this request."""
    return runtime_of(request.app).get(Services)


async def get_services(request: Request) -> Services:
    """The core services of the app serving this request."""
    return services_of(request)


async def get_settings(request: Request) -> Settings:
    """The settings of the app serving this request."""
    return services_of(request).settings


async def get_database(request: Request) -> Database:
    """The database of the app serving this request."""
    return services_of(request).database


async def get_store(request: Request) -> Store:
    """The short-lived store of the app serving this request."""
    return services_of(request).store


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
StoreDep = Annotated[Store, Depends(get_store)]
