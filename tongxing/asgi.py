"""ASGI entry point for uvicorn workers: settings from the environment, then ``create_app``."""

from __future__ import annotations

from fastapi import FastAPI

from core.logs import configure_logging
from core.settings import load_settings
from tongxing.app import create_app


def create_app_from_environment() -> FastAPI:
    """Build the app from ``TONGXING_*`` variables (used with ``uvicorn --factory``)."""
    settings = load_settings()
    configure_logging(level=settings.log_level, fmt=settings.log_format)
    return create_app(settings)
