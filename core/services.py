"""The per-process service container the app factory builds and request handlers receive."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from core.cluster import Membership
from core.database import Database
from core.events import EventRecorder
from core.readiness import Probe
from core.settings import Settings
from core.store import Store


@dataclass
class Services:
    """Everything long-lived one app process owns.

    ``readiness`` holds the probes ``/readyz`` runs; ``closers`` release what packages opened.
    """

    settings: Settings
    database: Database
    store: Store
    metrics_registry: CollectorRegistry
    membership: Membership
    events: EventRecorder
    readiness: dict[str, Probe] = field(default_factory=dict)
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Release connections (the process is shutting down)."""
        for close in reversed(self.closers):
            close()
        self.store.close()
        self.database.dispose()
