"""The per-process service container the app factory builds and request handlers receive."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry

from core.cluster import Membership
from core.database import Database
from core.settings import Settings
from core.store import Store


@dataclass
class Services:
    """Everything long-lived one app process owns: settings, database, store, metrics."""

    settings: Settings
    database: Database
    store: Store
    metrics_registry: CollectorRegistry
    membership: Membership

    def close(self) -> None:
        """Release connections (the process is shutting down)."""
        self.store.close()
        self.database.dispose()
