"""Composition root of Tongxing (通行): builds the app from settings and mounts every package."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tongxing")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

from tongxing.app import create_app

__all__ = ["__version__", "create_app"]
