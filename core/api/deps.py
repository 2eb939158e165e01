"""``Annotated`` dependency aliases that hand request handlers the process's services."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from core.database import Database
from core.services import Services
from core.settings import Settings
from core.store import Store


def get_services(request: Request) -> Services:
    """The services of the app serving this request."""
    services: Services = request.app.state.services
    return services


def get_settings(request: Request) -> Settings:
    """The settings of the app serving this request."""
    return get_services(request).settings


def get_database(request: Request) -> Database:
    """The database of the app serving this request."""
    return get_services(request).database


def get_store(request: Request) -> Store:
    """The short-lived store of the app serving this request."""
    return get_services(request).store


ServicesDep = Annotated[Services, Depends(get_services)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_database)]
StoreDep = Annotated[Store, Depends(get_store)]
